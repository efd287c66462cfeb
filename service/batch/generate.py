"""Realistic CSV error logs, as an ops-error board exports them, for tests and `make bench`.

Rows are the knowledge base's own example payloads (the real platform errors each rule
carries) that a CSV row can express, weighted the way error boards look (token
failures first), with varied error ids, shops, dates, retry counts and the per-call
`timestamp`/`sign` query parameters, plus a few errors no rule knows.

    python -m service.batch.generate errors.csv --rows 1000000 [--seed 7] [--encoding gb18030]
"""

import argparse
import csv
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

from rules.engine.normalize import parse_body, read_envelope
from rules.kb.loader import DEFAULT_KB_DIR, load_directory

HEADER = ("error_id", "api_endpoint", "http_status", "error_code", "error_message", "first_occurred_at",
          "retry_count", "shop_id", "region", "platform", "response_headers", "response_body")
EXPRESSIBLE = {"status", "endpoint", "method", "platform", "region", "headers", "body"}  # no CSV column for the rest
CATEGORY_WEIGHTS = {  # shares of an ops board's week; other categories weigh 1
    "auth.token_expired": 30, "auth.token_invalid": 10, "auth.refresh_token_expired": 4,
    "validation.malformed_request": 12, "validation.missing_field": 8, "validation.invalid_value": 8,
    "region.endpoint_mismatch": 8, "region.category_unavailable": 3, "rate_limit.exceeded": 5,
    "signature.invalid": 3, "platform.unavailable": 2, "platform.server_error": 2,
}
UNKNOWN_SHARE = 0.03
UNKNOWN_MESSAGES = (
    "ERP mapping not found for warehouse W{n}",
    "Order {n} skipped by custom sync filter",
    "Unrecognised sync state {n}",
)
TIMESTAMP = re.compile(r"(?<=[?&]timestamp=)\d+")
SIGN = re.compile(r"(?<=[?&]sign=)[0-9A-Za-z]+")
START = datetime(2025, 6, 1)
RETRIES = (0, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Template:
    rule_id: str
    category: str
    row: tuple[str, ...]  # HEADER minus the varied columns: endpoint, status, code, message, ..., body


def templates(kb_dir: Path | str = DEFAULT_KB_DIR) -> list[Template]:
    """Every example payload of the knowledge base that fits in a CSV row."""
    _docs, rules = load_directory(kb_dir)
    out = []
    for rule in rules:
        for example in rule.examples_match:
            if not set(example) <= EXPRESSIBLE:
                continue
            body = example.get("body")
            code, message, _type, _request_id = read_envelope(*parse_body(body))
            plain = isinstance(body, dict) and set(body) <= {"code", "message"}
            raw_body = "" if plain or body is None else (
                body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":")))
            headers = example.get("headers")
            out.append(Template(rule.id, rule.category, (
                str(example["endpoint"]), str(example["status"]), code or "", message or "",
                str(example.get("region") or ""), str(example.get("platform") or ""),
                json.dumps(headers, ensure_ascii=False) if headers else "", raw_body)))
    return out


def rows(count: int, seed: int = 0, kb_dir: Path | str = DEFAULT_KB_DIR) -> Iterator[list[str]]:
    rng = random.Random(seed)
    pool = templates(kb_dir)
    per_category = Counter(t.category for t in pool)  # a category's weight is shared by its examples
    pool_weights = list(accumulate(CATEGORY_WEIGHTS.get(t.category, 1) / per_category[t.category] for t in pool))
    shops = [f"shop-{k:04d}" for k in range(300)]
    shop_weights = list(accumulate(1 / (k + 1) for k in range(len(shops))))
    retry_weights = list(accumulate((50, 20, 10, 10, 5, 5)))
    choices, random_, randrange = rng.choices, rng.random, rng.randrange
    for number in range(count):
        shop = choices(shops, cum_weights=shop_weights)[0]
        when = (START + timedelta(seconds=randrange(30 * 86400))).strftime("%Y-%m-%d %H:%M:%S")
        retries = str(choices(RETRIES, cum_weights=retry_weights)[0])
        error_id = f"ERR{seed:02d}{number:09d}"
        if random_() < UNKNOWN_SHARE:
            n = randrange(10**5, 10**6)
            message = UNKNOWN_MESSAGES[n % len(UNKNOWN_MESSAGES)].format(n=n)
            # an ERP's own error, answered 200 with an error envelope: no rule knows it
            yield [error_id, f"https://erp.example.com/api/v1/sync/{n}", "200", "E_SYNC", message, when, retries,
                   shop, "", "", "", ""]
            continue
        endpoint, status, code, message, region, platform, headers, body = choices(
            pool, cum_weights=pool_weights)[0].row
        if "timestamp=" in endpoint or "sign=" in endpoint:
            endpoint = TIMESTAMP.sub(str(1748736000 + randrange(30 * 86400)), endpoint)
            endpoint = SIGN.sub(f"{rng.getrandbits(128):032x}", endpoint)
        yield [error_id, endpoint, status, code, message, when, retries, shop, region, platform, headers, body]


def write_csv(path: Path | str, count: int, seed: int = 0, encoding: str = "utf-8",
              kb_dir: Path | str = DEFAULT_KB_DIR) -> Path:
    path = Path(path)
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed, kb_dir))
    return path


# a multi-shop export as sellers' ERPs write it: shop names, a region column some shops
# leave empty (their region is then inferred from the endpoints of their rows), an order
# reference of their own; the errors are the KB's examples, as above
SHOPS_HEADER = ("shop_name", "region_code", "api_endpoint", "http_status", "error_code", "error_message",
                "occurred_at", "retries", "order_ref", "response_headers", "response_body")
SHOPS = (("Acme Home US", "US"), ("Acme Home UK", "GB"), ("Lumen Beauty MY", "MY"), ("Lumen Beauty SG", ""),
         ("Harbor Tools DE", ""), ("Harbor Tools JP", "JP"))


def shops_rows(count: int, seed: int = 0, kb_dir: Path | str = DEFAULT_KB_DIR) -> Iterator[list[str]]:
    rng = random.Random(seed)
    pool = [t for t in templates(kb_dir) if ".example." not in t.row[0]]  # a marketplace's errors
    for number in range(count):
        shop, region = SHOPS[number % len(SHOPS)]
        endpoint, status, code, message, _region, _platform, headers, body = rng.choice(pool).row
        when = (START + timedelta(minutes=rng.randrange(3 * 1440))).strftime("%Y-%m-%d %H:%M")
        yield [shop, region, endpoint, status, code, message, when, str(rng.choice(RETRIES)),
               f"PO-{rng.randrange(10**6):06d}", headers, body]


def write_shops_csv(path: Path | str, count: int = 300, seed: int = 0, kb_dir: Path | str = DEFAULT_KB_DIR) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(SHOPS_HEADER)
        writer.writerows(shops_rows(count, seed, kb_dir))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--dir", default=str(DEFAULT_KB_DIR), help="kb_content directory")
    args = parser.parse_args(argv)
    write_csv(args.output, args.rows, args.seed, args.encoding, args.dir)


if __name__ == "__main__":
    main()
