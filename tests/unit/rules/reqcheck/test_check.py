"""Requests checked against the platforms' published schemas: the platforms' own request examples
pass, every mutation of them is found, the envelope rules hold, /check and `opsdiag check` answer
as the contract says, and /diagnose uses the check."""

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.reqcheck import validate as reqcheck
from rules.reqcheck.schemas import catalog
from service.cli import main
from service.importers import changelog, write
from tests.conftest import ROOT

EXAMPLES = [json.loads(line) for line in
            (ROOT / "tests" / "fixtures" / "request_examples.jsonl").read_text(encoding="utf-8").splitlines()]
NOW = 1_700_000_000

# Published samples that contradict their own operation's table; the check must say where.
# (platform, operation): the JSON path it names, and what the page says.
DISAGREEMENTS = {
    ("tiktok_shop", "upload-invoice-202502"): "$.invoices[0].order_ids",  # table []string, sample a string
    ("tiktok_shop", "diagnose-and-optimize-product-202411"): "$.optimization_fields",  # []string, sample a string
    ("shopee", "v2.logistics.batch_ship_order"): "$.dropoff.tracking_no",  # sample field the table lacks
    ("shopee", "v2.logistics.set_address_config"): "$.show_pick_up_address",  # idem
    ("shopee", "v2.logistics.ship_booking"): "$.pickup.address_id",  # required in the table, not in the sample
    ("shopee", "v2.order.handle_prescription_check"): "$.is_approved",  # table boolean, sample a string
    ("shopee", "v2.order.upload_invoice_doc"): "$.file_type",  # table int32, sample a string
    ("shopee", "v2.product.add_item"): "$.tax_info.invoice_option",  # sample field the table lacks
    ("shopee", "v2.product.add_model"): "$.item_id",  # required in the table, not in the sample
    ("shopee", "v2.product.update_item"): "$.video_upload_id[0]",  # table string[], sample objects
    ("shopee", "v2.product.update_model"): "$.item_id",  # required in the table, not in the sample
}


def _op(case):
    return next(op for op in catalog().operations if op.platform == case["platform"] and op.name == case["operation"])


def _request(case, body):
    op = _op(case)
    return {"method": op.method, "endpoint": re.sub(r"\{[^}]+\}", "X1", op.path), "platform": case["platform"],
            "body": body}


def body_problems(case, body):
    return [p for p in reqcheck.check(_request(case, body))["problems"] if p["where"] == "body"]


def _id(case):
    return f"{case['platform']}:{case['operation']}:{case['source'].get('at', '')[-40:]}"


CONFORMING = [c for c in EXAMPLES if (c["platform"], c["operation"]) not in DISAGREEMENTS]


def test_the_examples_come_from_every_platform_with_bodies_and_name_their_source():
    platforms = {c["platform"] for c in EXAMPLES}
    assert platforms == {"amazon_sp", "tiktok_shop", "shopee"}  # Lazada takes parameters, not bodies
    assert len(EXAMPLES) >= 150
    assert all({"repository", "path", "commit", "at"} <= set(c["source"]) for c in EXAMPLES)


@pytest.mark.parametrize("case", CONFORMING, ids=_id)
def test_a_platforms_own_request_example_raises_nothing(case):
    assert body_problems(case, case["body"]) == []


@pytest.mark.parametrize("key", sorted(DISAGREEMENTS), ids=":".join)
def test_a_sample_that_contradicts_its_own_table_is_named_at_the_field(key):
    case = next(c for c in EXAMPLES if (c["platform"], c["operation"]) == key)
    assert DISAGREEMENTS[key] in {p["path"] for p in body_problems(case, case["body"])}


# -- mutations of the conforming examples --------------------------------------------------------

def _resolve(schema, definitions):
    while isinstance(schema, dict) and "$ref" in schema:
        schema = definitions[schema["$ref"].removeprefix("#/definitions/")]
    return schema if isinstance(schema, dict) else {}


def nodes(body, schema, definitions, parts=()):
    """(path parts, value, schema, parent schema) of every node of the body the schema describes."""
    schema = _resolve(schema, definitions)
    if isinstance(body, dict):
        for name, value in body.items():
            sub = schema.get("properties", {}).get(name)
            if sub is not None:
                yield (*parts, name), value, _resolve(sub, definitions), schema
                yield from nodes(value, sub, definitions, (*parts, name))
    elif isinstance(body, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(body[:3]):
            yield (*parts, i), value, _resolve(schema["items"], definitions), schema
            yield from nodes(value, schema["items"], definitions, (*parts, i))


def _path(parts):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _set(body, parts, value=..., delete=False):
    target = body
    for part in parts[:-1]:
        target = target[part]
    if delete:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


OTHER_TYPE = {"string": 12345, "integer": "100", "number": "100", "boolean": "true", "array": {"x": 1},
              "object": ["x"]}


def mutations(case):
    """(name, mutated body, the path a problem must name) - at most one of each kind per example."""
    op = _op(case)
    schema, definitions, body = op.spec.get("body", {}), op.definitions, case["body"]
    found = list(nodes(body, schema, definitions))
    out = []
    for parts, _value, _sub, parent in found:
        if parts[-1] in parent.get("required", ()) and isinstance(parts[-1], str):
            mutated = copy.deepcopy(body)
            _set(mutated, parts, delete=True)
            out.append(("drop a required field", mutated, _path(parts)))
            break
    for parts, value, sub, _parent in found:
        kind = sub.get("type")
        if kind in OTHER_TYPE and value is not None and not sub.get("enum"):
            mutated = copy.deepcopy(body)
            _set(mutated, parts, OTHER_TYPE[kind])
            out.append(("change a type", mutated, _path(parts)))
            break
    for parts, value, sub, _parent in found:
        if sub.get("enum") and isinstance(value, str):
            mutated = copy.deepcopy(body)
            _set(mutated, parts, value + "_NOT_A_VALUE")
            out.append(("break an enum", mutated, _path(parts)))
            break
    for parts, value, sub, _parent in found:
        if len(parts) == 1 and sub.get("type") in ("string", "integer", "number", "boolean"):
            mutated = copy.deepcopy(body)
            del mutated[parts[0]]
            holder = next((k for k, v in mutated.items() if isinstance(v, dict) and parts[0] not in v), None)
            if holder is None:  # no object to move it into: one level too deep instead
                mutated[parts[0]] = {parts[0]: value}
                out.append(("nest wrongly", mutated, _path(parts)))
            else:
                mutated[holder][parts[0]] = value
                out.append(("nest wrongly", mutated, _path((holder, parts[0]))))
            break
    return out


MUTATIONS = [(case, *m) for case in CONFORMING for m in mutations(case)]


def test_the_mutations_cover_each_kind_on_each_platform():
    kinds = {(case["platform"], name) for case, name, _body, _path in MUTATIONS}
    for platform in ("amazon_sp", "tiktok_shop", "shopee"):
        for name in ("drop a required field", "change a type", "nest wrongly"):
            assert (platform, name) in kinds
    assert ("amazon_sp", "break an enum") in kinds  # the only source with enums
    assert len(MUTATIONS) >= 400


@pytest.mark.parametrize(("case", "name", "body", "path"), MUTATIONS,
                         ids=[f"{_id(c)}:{n}" for c, n, _b, _p in MUTATIONS])
def test_every_mutation_is_found_at_its_field(case, name, body, path):
    paths = {p["path"] for p in body_problems(case, body)}
    if name == "nest wrongly":  # the field is missing where it belongs, or unknown where it went
        assert any(p == path or p.startswith(path + ".") or p == _path((path.rsplit(".", 1)[-1],))
                   for p in paths), paths
    else:
        assert path in paths


def test_a_type_problem_says_what_was_wanted_and_what_was_sent():
    body = {"destinationMarketplaces": ["ATVPDKIKX0DER"],
            "items": [{"labelOwner": "AMAZON", "msku": "Sunglasses", "prepOwner": "AMAZON", "quantity": "10"}],
            "sourceAddress": {"addressLine1": "123 example street", "city": "Toronto", "countryCode": "CA",
                              "name": "Jane Roe", "phoneNumber": 4165550100, "postalCode": "M5V 3L9"}}
    result = reqcheck.check({"method": "POST", "body": body, "headers": {"x-amz-access-token": "Atza|x"},
                             "endpoint": "https://sellingpartnerapi-na.amazon.com/inbound/fba/2024-03-20/inboundPlans"})
    by_path = {p["path"]: p for p in result["problems"]}
    quantity = by_path["$.items[0].quantity"]
    assert (quantity["kind"], quantity["expected"], quantity["sent"]) == ("type", "integer",
                                                                          {"type": "string", "value": "10"})
    assert quantity["doc"] == "https://developer-docs.amazon.com/sp-api/reference/createinboundplan"
    phone = by_path["$.sourceAddress.phoneNumber"]
    assert phone["sent"]["type"] == "integer" and "4165550100" not in json.dumps(phone)  # masked
    assert result["operation"]["source"]["repository"] == "https://github.com/amzn/selling-partner-api-models"
    assert result["ok"] is False


def test_query_parameters_are_read_as_their_types():
    base = "https://sellingpartnerapi-na.amazon.com/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER"
    headers = {"x-amz-access-token": "Atza|x"}
    assert reqcheck.check({"method": "GET", "endpoint": base + "&MaxResultsPerPage=20", "headers": headers})["ok"]
    bad = reqcheck.check({"method": "GET", "endpoint": base + "&MaxResultsPerPage=twenty", "headers": headers})
    assert [(p["path"], p["kind"]) for p in bad["problems"]] == [("query.MaxResultsPerPage", "type")]
    missing = reqcheck.check({"method": "GET", "endpoint": base.split("?")[0], "headers": headers})
    assert [(p["path"], p["kind"]) for p in missing["problems"]] == [("query.MarketplaceIds", "missing")]


def test_an_unknown_operation_says_so_instead_of_passing():
    result = reqcheck.check({"method": "POST", "endpoint": "https://sellingpartnerapi-na.amazon.com/nothing/v9/here",
                             "headers": {"x-amz-access-token": "Atza|x"}, "body": {}})
    assert result["ok"] is False and result["operation"] is None
    assert result["problems"][0]["kind"] == "unknown_operation"
    other = reqcheck.check({"method": "POST", "endpoint": "https://erp.example.com/api/orders", "body": {}})
    assert other["problems"][0]["kind"] == "unknown_platform"


def test_a_known_path_with_another_method_names_the_methods_it_takes():
    result = reqcheck.check({"method": "DELETE", "headers": {"x-amz-access-token": "Atza|x"},
                             "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders"})
    assert (result["problems"][0]["kind"], result["problems"][0]["expected"]) == ("method", ["GET"])


# -- the envelope -----------------------------------------------------------------------------

TIKTOK = "https://open-api.tiktokglobalshop.com/order/202507/orders?ids=1&app_key=k&sign=s&shop_cipher=c"


def _kinds(result):
    return {(p["path"], p["kind"]) for p in result["problems"]}


def test_tiktok_timestamp_in_milliseconds_and_out_of_window_and_token_place():
    ok = reqcheck.check({"method": "GET", "endpoint": f"{TIKTOK}&timestamp={NOW}",
                         "headers": {"x-tts-access-token": "t", "content-type": "application/json"}}, now=NOW + 10)
    assert ok["ok"], ok["problems"]
    ms = reqcheck.check({"method": "GET", "endpoint": f"{TIKTOK}&timestamp={NOW * 1000}",
                         "headers": {"x-tts-access-token": "t", "content-type": "application/json"}}, now=NOW)
    assert ("query.timestamp", "timestamp_unit") in _kinds(ms)
    stale = reqcheck.check({"method": "GET", "endpoint": f"{TIKTOK}&timestamp={NOW - 301}",
                            "headers": {"x-tts-access-token": "t", "content-type": "application/json"}}, now=NOW)
    window = next(p for p in stale["problems"] if p["kind"] == "timestamp_window")
    assert window["offset_seconds"] == -301
    early = reqcheck.check({"method": "GET", "endpoint": f"{TIKTOK}&timestamp={NOW + 31}&access_token=t",
                            "headers": {"content-type": "application/json"}}, now=NOW)
    assert {("query.timestamp", "timestamp_window"), ("headers.x-tts-access-token", "token_misplaced")} <= _kinds(early)


def test_shopee_shop_calls_need_shop_id_and_token_and_public_calls_do_not():
    base = f"https://partner.shopeemobile.com/api/v2/product/get_item_list?partner_id=1&timestamp={NOW}&sign=s"
    shop = reqcheck.check({"method": "GET", "endpoint": base + "&offset=0&page_size=10&item_status=NORMAL"}, now=NOW)
    assert {("query", "shop_missing"), ("query.access_token", "token_missing")} <= _kinds(shop)
    public = reqcheck.check({"method": "GET", "now": NOW,
                             "endpoint": f"https://partner.shopeemobile.com/api/v2/public/get_shops_by_partner"
                                         f"?partner_id=1&timestamp={NOW}&sign=s"}, now=NOW)
    assert not {k for _p, k in _kinds(public)} & {"shop_missing", "token_missing"}


def test_lazada_wants_milliseconds_sign_method_and_the_token_in_the_query():
    base = "https://api.lazada.sg/rest/orders/get?app_key=1&sign=s&created_after=2017-02-10T09:00:00%2B08:00"
    result = reqcheck.check({"method": "GET", "endpoint": base + f"&timestamp={NOW}",
                             "headers": {"access_token": "t"}}, now=NOW)
    assert {("query.timestamp", "timestamp_unit"), ("query.sign_method", "signature"),
            ("query.access_token", "token_misplaced")} <= _kinds(result)
    good = reqcheck.check({"method": "GET", "endpoint": base + f"&timestamp={NOW * 1000}&sign_method=sha256"
                                                              "&access_token=t"}, now=NOW)
    assert good["ok"], good["problems"]


def test_sp_api_wants_the_token_in_its_header():
    result = reqcheck.check({"method": "GET", "endpoint": "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders"
                                                          "?MarketplaceIds=A1PA6795UKMFR9&x-amz-access-token=Atza|x"})
    assert ("headers.x-amz-access-token", "token_misplaced") in _kinds(result)


# -- POST /check ------------------------------------------------------------------------------

def test_check_route_answers_problems_in_the_contract(client):
    response = client.post("/check", json={
        "method": "POST", "sent_at": NOW + 5,
        "endpoint": f"https://partner.shopeemobile.com/api/v2/product/update_price?partner_id=1&timestamp={NOW}"
                    "&shop_id=2&access_token=a&sign=s",
        "body": {"item_id": 800000001, "price_list": [{"model_id": 0, "original_price": "100"}]}})
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] is False and data["operation"]["name"] == "v2.product.update_price"
    assert [(p["path"], p["kind"], p["expected"]) for p in data["problems"]] == [
        ("$.price_list[0].original_price", "type", "number")]


def test_check_route_passes_a_good_request_and_speaks_chinese(client):
    body = {"item_id": 800000001, "price_list": [{"model_id": 0, "original_price": 100}]}
    endpoint = (f"https://partner.shopeemobile.com/api/v2/product/update_price?partner_id=1&timestamp={NOW}"
                "&shop_id=2&access_token=a&sign=s")
    good = client.post("/check", json={"method": "POST", "endpoint": endpoint, "body": body, "sent_at": NOW})
    assert good.get_json()["ok"] is True and good.get_json()["problems"] == []
    body["price_list"][0]["original_price"] = "100"
    zh = client.post("/check", json={"method": "POST", "endpoint": endpoint, "body": body, "sent_at": NOW},
                     headers={"Accept-Language": "zh-CN"})
    assert zh.headers["Content-Language"] == "zh-CN" and "类型错误" in zh.get_json()["problems"][0]["message"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"method": "POST"}, "endpoint"),
    ({"method": "POST", "endpoint": "/x", "query": "a=1"}, "query"),
    ({"method": "POST", "endpoint": "/x", "surprise": 1}, "surprise"),
    ({"method": "P O S T", "endpoint": "/x"}, "method"),
])
def test_check_route_refuses_bad_input_naming_the_field(client, payload, field):
    response = client.post("/check", json=payload)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in {p["name"] for p in response.get_json()["invalid-params"]}


def test_check_route_wants_json(client):
    assert client.post("/check", data="method=POST", content_type="text/plain").status_code == 415


# -- opsdiag check / schemas ------------------------------------------------------------------

def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_opsdiag_check_prints_the_problems_and_exits_1(tmp_path):
    file = tmp_path / "request.json"
    file.write_text(json.dumps({"method": "GET", "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
                                "headers": {"x-amz-access-token": "Atza|x"}}))
    result = _run("check", file)
    assert result.exit_code == 1
    assert json.loads(result.output)["problems"][0]["path"] == "query.MarketplaceIds"
    file.write_text(json.dumps({"method": "GET", "headers": {"x-amz-access-token": "Atza|x"},
                                "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders"
                                            "?MarketplaceIds=ATVPDKIKX0DER"}))
    assert _run("check", file).exit_code == 0


def test_schemas_coverage_prints_operations_per_platform_and_domain():
    output = _run("schemas", "coverage").output
    for platform in ("amazon_sp", "tiktok_shop", "shopee", "lazada"):
        assert re.search(rf"^{platform}: \d+ operations$", output, re.M)
    sp_api = output.split("tiktok_shop:")[0]
    for api in ("orders", "listings", "catalog", "feeds", "reports", "fba_inbound", "fba_outbound", "fba_inventory",
                "merchant_fulfillment", "notifications", "tokens", "finances"):
        assert re.search(rf"\b{api} \d+", sp_api), api
    for platform_block in output.split("\n")[1:]:
        assert "None" not in platform_block


def test_the_catalog_covers_product_order_fulfillment_and_inventory_on_each_marketplace():
    domains = {}
    for op in catalog().operations:
        domains.setdefault(op.platform, set()).add(op.domain)
    for platform in ("tiktok_shop", "shopee", "lazada"):
        assert {"products", "orders", "inventory"} <= domains[platform]
        assert domains[platform] & {"fulfillment", "logistics"}
    assert all(op.source.get("commit") for op in catalog().operations)


# -- the importer's changelog -----------------------------------------------------------------

def test_an_import_names_the_required_fields_a_platform_added(tmp_path):
    document = json.loads((Path("kb_content/schemas/shopee/product_v2.json")).read_text(encoding="utf-8"))
    document.pop("format")
    assert write([document], tmp_path)[0] == "product_v2: new, 55 operations"
    assert write([document], tmp_path) == []  # the same import again changes nothing
    newer = copy.deepcopy(document)
    newer["source"]["commit"] = "f" * 40
    body = newer["operations"]["v2.product.add_item"]["body"]
    body["properties"]["gtin_code"] = {"type": "string"}
    body["required"].append("gtin_code")
    del newer["operations"]["v2.product.delete_item"]
    lines = changelog(document, newer)
    assert "product_v2: v2.product.add_item: required field added: $.gtin_code" in lines
    assert "product_v2: operation removed: v2.product.delete_item" in lines
    assert any(line.startswith("product_v2: source commit ") for line in lines)


# -- /diagnose --------------------------------------------------------------------------------

def test_diagnose_answers_with_the_schema_when_no_rule_names_the_field(client):
    payload = {"status": 400, "method": "POST", "body": {"error": "bad request"},
               "endpoint": "https://partner.shopeemobile.com/api/v2/product/update_price?partner_id=1",
               "request": {"body": {"item_id": 800000001, "price_list": [{"model_id": 0, "original_price": "100"}]}}}
    top = client.post("/diagnose", json=payload).get_json()["diagnoses"][0]
    assert (top["category"], top["field"], top["field_sent"]) == (
        "validation.type_mismatch", "price_list[0].original_price", "string")
    assert top["evidence"]["request_check"]["problems"][0]["path"] == "$.price_list[0].original_price"
    assert top["owner"] == "integrator" and top["doc_url"].startswith("https://open.shopee.com/documents/v2/")


def test_diagnose_keeps_a_rules_own_field_and_adds_the_check_as_evidence(local_kb):
    payload = {"status": 400, "method": "POST",
               "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders/search?page_size=10",
               "body": {"code": 36009003, "message": "missing required field: shipping_address.postal_code"},
               "request": {"body": {"order_status": 5}}}
    top = local_kb.diagnose(payload)["diagnoses"][0]
    assert top.get("field") != "order_status"
    assert "$.order_status" in {p["path"] for p in top["evidence"]["request_check"]["problems"]}


def test_diagnose_without_a_request_is_unchanged(local_kb):
    payload = {"status": 400, "endpoint": "https://partner.shopeemobile.com/api/v2/product/update_price",
               "body": {"error": "bad request"}}
    top = local_kb.diagnose(payload)["diagnoses"][0]
    assert "request_check" not in top["evidence"]


# -- opsdiag batch ----------------------------------------------------------------------------

def test_batch_adds_the_first_request_problem_and_a_request_problems_section(tmp_path):
    import csv

    endpoint = "https://partner.shopeemobile.com/api/v2/product/update_price?partner_id=1"
    mistyped = json.dumps({"item_id": 800000001, "price_list": [{"model_id": 0, "original_price": "100"}]})
    missing = json.dumps({"price_list": [{"model_id": 0, "original_price": 100}]})
    source = tmp_path / "errors.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["api_endpoint", "http_status", "error_message", "request_body"])
        writer.writerows([[endpoint, 400, "bad request", mistyped]] * 3 + [[endpoint, 400, "bad request", missing],
                                                                          [endpoint, 400, "bad request", ""]])
    result = CliRunner().invoke(main, ["batch", str(source), "--workers", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "errors.diagnosed.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [r["request_problem"] for r in rows] == [
        "$.price_list[0].original_price: type, wants number, sent string"] * 3 + [
        "$.item_id: missing, wants present", ""]
    section = result.output.split("Request problems")[1]
    first, second = [line for line in section.splitlines() if "v2.product.update_price" in line][:2]
    assert "$.price_list[0].original_price - type" in first and " 3 " in first
    assert "$.item_id - missing" in second


def test_the_documented_example_answers_as_documented(tmp_path):
    """docs/request-check.md: its request.json, the problems it shows, and `opsdiag schemas coverage`."""
    part = (ROOT / "docs" / "request-check.md").read_text(encoding="utf-8")
    request = re.search(r"```json\n(.*?)```", part, re.S).group(1)
    shown = re.findall(r"^\| `([^`]+)` \| (\w+) \| (\w+) \|", part, re.M)
    file = tmp_path / "request.json"
    file.write_text(request, encoding="utf-8")
    result = _run("check", file)
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [(p["path"], p["kind"], p["severity"]) for p in problems] == shown
    coverage = re.search(r"```\n(amazon_sp: .*?)```", part, re.S).group(1)
    assert coverage == _run("schemas", "coverage").output


def test_check_route_infers_platform_and_region_as_diagnose_does(client):
    data = client.post("/check", json={"method": "GET", "headers": {"x-amz-access-token": "Atza|x"},
                                       "endpoint": "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders"
                                                   "?MarketplaceIds=A1PA6795UKMFR9"}).get_json()
    assert (data["platform"], data["region"], data["ok"]) == ("amazon_sp", "DE", True)
    given = client.post("/check", json={"method": "GET", "endpoint": "/orders/v0/orders?MarketplaceIds=X",
                                        "platform": "amazon_sp", "region": "uk"}).get_json()
    assert (given["platform"], given["region"]) == ("amazon_sp", "GB")


def test_query_given_as_json_is_read_as_sent_on_the_wire():
    result = reqcheck.check({"method": "GET", "headers": {"x-amz-access-token": "Atza|x"},
                             "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
                             "query": {"MarketplaceIds": "ATVPDKIKX0DER", "MaxResultsPerPage": 20, "IsISPU": False}})
    assert result["ok"], result["problems"]
