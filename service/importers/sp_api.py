"""SP-API request schemas from Amazon's official models (github.com/amzn/selling-partner-api-models,
one Swagger 2.0 file per API and version): every operation's path, query, header and body
parameters with their types, required-ness, enums, formats and limits, and the definitions the
body reaches - descriptions and examples left out."""

import json

from rules.reqcheck.schemas import compact, reachable

from .git_source import GitSource

NOTE = ("every operation of the listed APIs, with types, required-ness, enums, formats and limits as the "
        "official model writes them")
REPOSITORY = "https://github.com/amzn/selling-partner-api-models"
REFERENCE = "https://developer-docs.amazon.com/sp-api/reference/"

# The APIs opsdiag covers, in their current versions: (api, model file).
MODELS = (
    ("orders", "models/orders-api-model/ordersV0.json"),
    ("orders", "models/orders-api-model/orders_2026-01-01.json"),
    ("listings", "models/listings-items-api-model/listingsItems_2021-08-01.json"),
    ("listings", "models/listings-restrictions-api-model/listingsRestrictions_2021-08-01.json"),
    ("catalog", "models/catalog-items-api-model/catalogItems_2022-04-01.json"),
    ("feeds", "models/feeds-api-model/feeds_2021-06-30.json"),
    ("reports", "models/reports-api-model/reports_2021-06-30.json"),
    ("fba_inbound", "models/fulfillment-inbound-api-model/fulfillmentInbound_2024-03-20.json"),
    ("fba_inbound", "models/fba-inbound-eligibility-api-model/fbaInbound.json"),
    ("fba_outbound", "models/fulfillment-outbound-api-model/fulfillmentOutbound_2020-07-01.json"),
    ("fba_outbound", "models/fulfillment-outbound-api-model/fulfillmentOutbound_2026-07-04.json"),
    ("fba_inventory", "models/fba-inventory-api-model/fbaInventory.json"),
    ("merchant_fulfillment", "models/merchant-fulfillment-api-model/merchantFulfillmentV0.json"),
    ("notifications", "models/notifications-api-model/notifications.json"),
    ("tokens", "models/tokens-api-model/tokens_2021-03-01.json"),
    ("finances", "models/finances-api-model/financesV0.json"),
    ("finances", "models/finances-api-model/finances_2024-06-19.json"),
    ("finances", "models/finances-api-model/transfers_2024-06-01.json"),
)
METHODS = ("get", "put", "post", "delete", "patch")


def _param_schema(param: dict) -> dict:
    schema = compact(param)
    schema.pop("required", None)  # a parameter's flag; the object's `required` list says it
    if param.get("collectionFormat", "csv") == "csv" and param.get("type") == "array":
        schema["x-split"] = ","
    return schema


def _params(params: list[dict], where: str) -> dict | None:
    chosen = [p for p in params if p.get("in") == where]
    if not chosen:
        return None
    name = str.lower if where == "header" else str
    out = {"type": "object", "properties": {name(p["name"]): _param_schema(p) for p in chosen}}
    required = sorted(name(p["name"]) for p in chosen if p.get("required"))
    if required:
        out["required"] = required
    return out


def operations(model: dict, api: str) -> dict:
    from rules.engine.infer import domain_of

    ops = {}
    for path, item in model["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            params = shared + op.get("parameters", [])
            entry = {"method": method.upper(), "path": path, "api": api, "domain": domain_of(path),
                     "doc": REFERENCE + op["operationId"].lower()}
            for where, slot in (("path", "path_params"), ("query", "query"), ("header", "headers")):
                found = _params(params, where)
                if found:
                    entry[slot] = found
            body = [p for p in params if p.get("in") == "body"]
            if body:
                entry["body"] = compact(body[0]["schema"])
                entry["body_required"] = bool(body[0].get("required"))
            ops[op["operationId"]] = entry
    return ops


def load(git_dir, commit: str = "HEAD") -> list[dict]:
    """One compact document per model file."""
    source = GitSource(git_dir, commit)
    documents = []
    for api, path in MODELS:
        model = json.loads(source.read(path))
        ops = operations(model, api)
        definitions = {name: compact(schema) for name, schema in model.get("definitions", {}).items()}
        documents.append({
            "platform": "amazon_sp", "api": api, "version": model["info"]["version"],
            "name": path.rsplit("/", 1)[1].removesuffix(".json"),
            "source": {"repository": REPOSITORY, "path": path, "commit": source.commit, "note": NOTE},
            "operations": ops,
            "definitions": reachable(ops, definitions),
        })
    return documents
