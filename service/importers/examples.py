"""The platforms' own request examples, for tests/unit/rules/reqcheck/test_check.py: real bodies from the same
published sources the schemas come from (SP-API models' sandbox requests and request-definition
examples, TikTok Shop's and Shopee's reference request samples), each with its source, written to
tests/fixtures/request_examples.jsonl by `opsdiag schemas examples`."""

import json

from rules.reqcheck.schemas import catalog

from .git_source import GitSource
from .shopee import MODULES
from .shopee import REPOSITORY as DOCS_REPOSITORY
from .sp_api import METHODS, MODELS
from .sp_api import REPOSITORY as SP_API_REPOSITORY
from .tiktok_shop import FOLDERS


def _sp_api(git_dir) -> list[dict]:
    source = GitSource(git_dir)
    found = []
    for _api, path in MODELS:
        model = json.loads(source.read(path))
        definitions = model.get("definitions", {})
        for template, item in model["paths"].items():
            for method in METHODS:
                op = item.get(method)
                body = [p for p in (op or {}).get("parameters", []) if p.get("in") == "body"]
                if not body:
                    continue
                where = {"repository": SP_API_REPOSITORY, "path": path, "commit": source.commit}
                ref = body[0]["schema"].get("$ref", "").removeprefix("#/definitions/")
                if "example" in definitions.get(ref, {}):
                    found.append(_case("amazon_sp", op["operationId"], method, template,
                                       definitions[ref]["example"], {**where, "at": f"definitions.{ref}.example"}))
                for code, response in op.get("responses", {}).items():
                    if not code.startswith("2"):  # the sandbox's error cases send wrong bodies on purpose
                        continue
                    for n, case in enumerate(response.get("x-amzn-api-sandbox", {}).get("static", [])):
                        value = case.get("request", {}).get("parameters", {}).get("body", {}).get("value")
                        if isinstance(value, dict):
                            at = f"{template} {method} responses.{code} sandbox static[{n}]"
                            found.append(_case("amazon_sp", op["operationId"], method, template, value,
                                               {**where, "at": at}))
    return found


def _docs(git_dir) -> list[dict]:
    source = GitSource(git_dir)
    paths = source.paths()
    found = []
    tiktok = [p for p in paths if p.endswith(".spec.json") and p.split("/")[4:5] and p.split("/")[4] in FOLDERS
              and p.startswith("data/raw/tiktok/api-reference/")]
    for path, text in sorted(source.read_many(tiktok).items()):
        meta = json.loads(text)["document_api_meta"]
        try:
            body = json.loads(meta.get("request_body") or "null")
        except ValueError:
            continue
        if isinstance(body, dict) and meta.get("request_body_param"):
            found.append(_case("tiktok_shop", meta["document_path"], None, meta["interface_path"], body,
                               {"repository": DOCS_REPOSITORY, "path": path, "commit": source.commit,
                                "at": "document_api_meta.request_body"}))
    shopee = [p for p in paths if p.startswith("data/raw/shopee/apis/") and p.split("/")[4] in MODULES]
    for path, text in sorted(source.read_many(shopee).items()):
        api = json.loads(text)
        if api.get("method") != 1:
            continue
        samples = api.get("request_sample") or []
        for sample in json.loads(samples) if isinstance(samples, str) else samples:
            try:
                body = json.loads(sample.get("value") or "null")
            except ValueError:
                continue
            if isinstance(body, dict):
                found.append(_case("shopee", api["api_name"], "post", api["path"], body,
                                   {"repository": DOCS_REPOSITORY, "path": path, "commit": source.commit,
                                    "at": "request_sample"}))
    return found


def _case(platform, operation, method, path, body, source) -> dict:
    return {"platform": platform, "operation": operation, "method": (method or "").upper() or None,
            "path": path, "body": body, "source": source}


def collect(sp_api_dir, docs_dir) -> list[dict]:
    """Every example whose operation is in the catalog, with a concrete path to send it to."""
    known = {(op.platform, op.name): op for op in catalog().operations}
    out = []
    for case in _sp_api(sp_api_dir) + _docs(docs_dir):
        op = known.get((case["platform"], case["operation"]))
        if op is None:
            continue
        case["method"] = op.method
        out.append(case)
    return out
