"""Which input column means what: the names error boards really export, and `--columns`.

Ops boards, ERPs and spreadsheets name the same column differently (`shop_name`,
`store`, `店铺`; `region_code`, `site`, `站点`). Each canonical column (docs/batch.md) has
one list of names here, tried in order after the canonical name itself; `--columns
shop_id=卖家账号,region=国家` names the rest. A region column that is not the canonical
`region` often holds something else than a country code (`amazon.com`, a marketplace
id): an Amazon marketplace id becomes its country (rules/platforms/), any other value that
is not two letters is left out, and the region is then inferred from the endpoint.
"""

import re

from rules.platforms import marketplace_country

# canonical column -> other names it goes by, most specific first (matched as column_key)
ALIASES: dict[str, tuple[str, ...]] = {
    "error_id": ("id", "错误id", "错误编号"),
    "api_endpoint": ("endpoint", "url", "接口", "接口地址", "请求地址"),
    "http_status": ("status", "status_code", "状态码", "http状态码"),
    "error_code": ("code", "错误码", "错误代码"),
    "error_message": ("message", "msg", "错误信息", "错误消息"),
    "first_occurred_at": ("occurred_at", "time", "timestamp", "created_at", "发生时间", "时间"),
    "retry_count": ("retries", "retry", "重试次数"),
    "shop_id": ("shop", "shop_name", "store", "store_name", "seller_id", "店铺", "店铺名称", "店铺id"),
    "region": ("region_code", "site", "country", "country_code", "marketplace", "marketplace_id", "站点",
               "国家"),
    "platform": ("channel", "平台"),
    "response_headers": ("headers", "响应头"),
    "response_body": ("body", "response", "响应", "响应内容"),
    "method": ("http_method", "请求方法"),
    "request_body": ("request", "请求体", "请求内容"),
}
COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class ColumnsError(ValueError):
    """A --columns value that cannot be read."""


def parse_overrides(text: str | None) -> dict[str, str]:
    """`shop_id=卖家账号,region=国家` -> {canonical: header name}; ColumnsError names the bad part."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        canonical, sep, name = part.partition("=")
        canonical, name = canonical.strip(), name.strip()
        if not sep or not name:
            raise ColumnsError(f"--columns: {part.strip()!r} is not CANONICAL=HEADER")
        if canonical not in ALIASES:
            raise ColumnsError(f"--columns: {canonical!r} is not one of {', '.join(ALIASES)}")
        out[canonical] = name
    return out


def recognise(keys: list[str], overrides: dict[str, str], key=lambda name: name) -> dict[str, int]:
    """Canonical column -> position in the header (`keys` already column_key'ed): an override
    first, then the canonical name, then its aliases in order."""
    positions: dict[str, int] = {}
    for position, name in enumerate(keys):
        positions.setdefault(name, position)
    index: dict[str, int] = {}
    for canonical, aliases in ALIASES.items():
        wanted = [key(overrides[canonical])] if canonical in overrides else [canonical, *aliases]
        for name in wanted:
            if name in positions and positions[name] not in index.values():
                index[canonical] = positions[name]
                break
    return index


def region_value(value: str, canonical: bool) -> str | None:
    """The region a cell gives: as is from the canonical `region` column (the schema judges
    it); from another name, a marketplace id's country, a two-letter code, else nothing."""
    if canonical:
        return value
    return marketplace_country(value) or (value.upper() if COUNTRY.match(value) else None)
