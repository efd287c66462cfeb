"""Which platform, region, domain and environment an endpoint belongs to.

Only through the public functions of rules/engine/infer.py and through normalize(), so
that these hold whatever table or registry the hosts come from. The hosts and ids are
the published ones the module cites: TikTok Shop's partner docs, Shopee's "API calls",
Lazada's "API endpoint URLs", Amazon's SP-API endpoints and marketplace ids.
"""

import pytest

from rules.engine import Engine
from rules.engine.infer import api_region, domain_of, host_environment, platform_of, region_of
from rules.engine.normalize import normalize
from tests.unit.rules.ruledoc import rule


@pytest.mark.parametrize(("host", "platform"), [
    ("open-api.tiktokglobalshop.com", "tiktok_shop"),
    ("auth.tiktok-shops.com", "tiktok_shop"),
    ("services.tiktokshop.com", "tiktok_shop"),
    ("services.tiktokshops.us", "tiktok_shop"),
    ("sellingpartnerapi-na.amazon.com", "amazon_sp"),
    ("sellingpartnerapi-eu.amazon.com", "amazon_sp"),
    ("sellingpartnerapi-fe.amazon.com", "amazon_sp"),
    ("sandbox.sellingpartnerapi-na.amazon.com", "amazon_sp"),
    ("api.amazon.com", "amazon_sp"),  # Login with Amazon's token endpoint
    ("partner.shopeemobile.com", "shopee"),
    ("partner.test-stable.shopeemobile.com", "shopee"),
    ("openplatform.shopee.cn", "shopee"),
    ("openplatform.shopee.com.br", "shopee"),
    ("openplatform.sandbox.test-stable.shopee.sg", "shopee"),
    ("openplatform.sandbox.test-stable.shopee.cn", "shopee"),
    ("api.lazada.sg", "lazada"),
    ("api.lazada.co.id", "lazada"),
    ("api.lazada.com.my", "lazada"),
    ("api.lazada.co.th", "lazada"),
    ("api.lazada.vn", "lazada"),
    ("api.lazada.com.ph", "lazada"),
    ("auth.lazada.com", "lazada"),
])
def test_published_api_hosts_name_their_platform(host, platform):
    assert platform_of(host) == platform


@pytest.mark.parametrize("host", [
    "erp.example.com",
    "",
    "evil-tiktokglobalshop.com",  # a suffix counts only at a dot
    "tiktokglobalshop.com.evil.example",
    "lazada.sg.example.net",
    "webservices.amazon.com",  # Amazon, but not the Selling Partner API
    "sellercentral-europe.amazon.com",
    "open.shopee.com",  # Shopee's documentation site, not its API
    "shopee.sg",
])
def test_hosts_that_are_not_a_platforms_api_stay_generic(host):
    assert platform_of(host) == "generic"


@pytest.mark.parametrize(("host", "region"), [
    ("api.lazada.sg", "SG"), ("api.lazada.co.id", "ID"), ("api.lazada.com.my", "MY"),
    ("api.lazada.co.th", "TH"), ("api.lazada.vn", "VN"), ("api.lazada.com.ph", "PH"),
])
def test_a_lazada_country_host_names_its_country(host, region):
    assert region_of("lazada", host, {}) == region


def test_lazadas_shared_hosts_and_other_platforms_hosts_name_no_country():
    assert region_of("lazada", "auth.lazada.com", {}) is None
    assert region_of("tiktok_shop", "open-api.tiktokglobalshop.com", {"shop_cipher": "ROW_x"}) is None
    assert region_of("shopee", "partner.shopeemobile.com", {"shop_id": "1"}) is None
    assert region_of("generic", "api.lazada.sg", {}) is None  # the host is read for the platform it is given


@pytest.mark.parametrize(("query", "region"), [
    ({"marketplaceIds": "ATVPDKIKX0DER"}, "US"),
    ({"MarketplaceIds": "A1F83G8C2ARO7P"}, "GB"),  # Amazon's "UK", ISO 3166's GB
    ({"marketplaceId": "A1VC38T7YXB528"}, "JP"),
    ({"MarketplaceId": "A1PA6795UKMFR9"}, "DE"),
    ({"marketplaceIds": "A2Q3Y263D00KWC,ATVPDKIKX0DER"}, "BR"),  # the first of several
    ({"marketplaceIds": " A21TJRUUN4KGV , A1VC38T7YXB528"}, "IN"),
    ({"marketplaceIds": "NOTAMARKETPLACE"}, None),
    ({"marketplace": "ATVPDKIKX0DER"}, None),
    ({}, None),
])
def test_an_sp_api_marketplace_id_names_its_country(query, region):
    assert region_of("amazon_sp", "sellingpartnerapi-na.amazon.com", query) == region


@pytest.mark.parametrize(("platform", "host", "environment"), [
    ("tiktok_shop", "open-api.tiktokglobalshop.com", "production"),
    ("amazon_sp", "sellingpartnerapi-eu.amazon.com", "production"),
    ("amazon_sp", "sandbox.sellingpartnerapi-eu.amazon.com", "sandbox"),
    ("shopee", "partner.shopeemobile.com", "production"),
    ("shopee", "partner.test-stable.shopeemobile.com", "sandbox"),
    ("shopee", "openplatform.sandbox.test-stable.shopee.sg", "sandbox"),
    ("lazada", "api.lazada.co.th", "production"),
    ("generic", "erp.example.com", None),  # nothing says which it is
    ("generic", "sandbox.erp.example.com", "sandbox"),  # the host says so
    ("generic", "api-uat.erp.example.com", "sandbox"),
    ("generic", "guatemala.example.com", None),  # "uat" inside a word says nothing
    ("generic", "sandboxes.example.com", None),
    ("generic", "", None),
    ("tiktok_shop", "", None),
])
def test_the_environment_a_host_serves(platform, host, environment):
    assert host_environment(platform, host) == environment


@pytest.mark.parametrize(("host", "region"), [
    ("sellingpartnerapi-na.amazon.com", "na"),
    ("sellingpartnerapi-eu.amazon.com", "eu"),
    ("sellingpartnerapi-fe.amazon.com", "fe"),
    ("sandbox.sellingpartnerapi-fe.amazon.com", "fe"),
    ("api.amazon.com", None),
    ("sellingpartnerapi-eu.amazon.com.example.net", None),
    ("open-api.tiktokglobalshop.com", None),
])
def test_the_sp_api_region_of_a_host(host, region):
    assert api_region(host) == region


@pytest.mark.parametrize(("path", "domain"), [
    ("/order/202309/orders", "orders"),
    ("/product/202309/products", "products"),
    ("/product/202309/categories", "products"),
    ("/fulfillment/202309/packages", "fulfillment"),
    ("/logistics/202309/warehouses", "logistics"),
    ("/finance/202309/statements", "finance"),
    ("/event/202309/webhooks", "webhook"),
    ("/authorization/202309/shops", "auth"),
    ("/api/v2/token/get", "auth"),
    ("/return_refund/202309/returns", "orders"),
    ("/api/v2/product/update_stock", "inventory"),  # under /product/, but an inventory update
    ("/api/v2/logistics/ship_order", "fulfillment"),  # under /logistics/, but shipping an order
    ("/api/v2/logistics/get_tracking_number", "logistics"),
    ("/api/v2/payment/get_escrow_detail", "finance"),
    ("/api/v2/push/set_app_push_config", "webhook"),
    ("/api/v2/returns/get_return_detail", "orders"),
    ("/api/v2/shop/get_shop_info", "other"),
    ("/rest/order/package/rts", "fulfillment"),
    ("/rest/finance/transaction/details/get", "finance"),
    ("/rest/auth/token/create", "auth"),
    ("/rest/product/price_quantity/update", "products"),
    ("/orders/v0/orders", "orders"),
    ("/fba/inventory/v1/summaries", "inventory"),
    ("/finances/v0/financialEvents", "finance"),
    ("/notifications/v1/subscriptions", "webhook"),
    ("/auth/o2/token", "auth"),
    ("/tokens/2021-03-01/restrictedDataToken", "auth"),
    ("/catalog/2022-04-01/items", "products"),
    ("/listings/2021-08-01/items", "products"),
    ("/fba/outbound/2020-07-01/fulfillmentOrders", "fulfillment"),
    ("/ORDER/202309/ORDERS", "orders"),  # case does not matter
    ("/", "other"),
    ("/healthz", "other"),
])
def test_the_domain_of_a_path(path, domain):
    assert domain_of(path) == domain


# ------------------------------------------------------------------- through normalize


def fact(endpoint: str, **payload):
    return normalize({"status": 400, "endpoint": endpoint, **payload})


def test_normalize_reads_platform_region_and_domain_off_the_endpoint():
    seen = fact("https://api.lazada.co.th/rest/order/get?app_key=1")
    assert (seen.platform, seen.region, seen.domain) == ("lazada", "TH", "orders")
    assert set(seen.inferred) == {"platform", "region", "domain"}


def test_host_case_and_port_do_not_change_what_is_inferred():
    seen = fact("https://API.Lazada.com.my:443/rest/product/get")
    assert (seen.host, seen.platform, seen.region, seen.domain) == ("api.lazada.com.my", "lazada", "MY", "products")


@pytest.mark.parametrize("host", ["api.lazada.sg.", "API.LAZADA.SG."])
def test_a_fully_qualified_host_with_its_trailing_dot_is_the_same_host(host):
    assert (platform_of(host), region_of("lazada", host, {})) == ("lazada", "SG")
    assert api_region("sellingpartnerapi-fe.amazon.com.") == "fe"
    seen = fact(f"https://{host}/rest/product/get")
    assert (seen.host, seen.platform, seen.region, seen.domain) == ("api.lazada.sg", "lazada", "SG", "products")
    assert seen.derived["host_environment"] == "production"
    assert platform_of("api.lazada.sg..") == "generic"  # not a host name at all


def test_a_rule_on_the_host_holds_for_its_fully_qualified_form():
    checked = rule({"host": "api.lazada.sg"}, platforms=["lazada"])
    engine = Engine([checked], "fqdn")
    try:
        assert engine.match(fact("https://api.lazada.sg./rest/product/get")) == [checked]
    finally:
        engine.close()


def test_normalize_reads_the_marketplace_id_of_an_sp_api_query():
    seen = fact("https://sellingpartnerapi-eu.amazon.com/orders/v0/orders?MarketplaceIds=A1F83G8C2ARO7P,A1PA6795UKMFR9")
    assert (seen.platform, seen.region, seen.domain) == ("amazon_sp", "GB", "orders")
    assert (seen.derived["api_region"], seen.derived["host_environment"]) == ("eu", "production")


def test_a_sandbox_host_is_recorded_and_compared_with_what_the_caller_says():
    seen = fact("https://sandbox.sellingpartnerapi-na.amazon.com/orders/v0/orders",
                context={"environment": "production"})
    assert seen.derived["host_environment"] == "sandbox"
    assert seen.derived["environment_mismatch"] is True
    agreed = fact("https://partner.test-stable.shopeemobile.com/api/v2/order/get_order_detail",
                  context={"environment": "sandbox"})
    assert agreed.derived["environment_mismatch"] is False


def test_what_the_caller_says_wins_over_what_the_host_suggests():
    seen = fact("https://api.lazada.sg/rest/order/get", platform="lazada", region="my", domain="finance")
    assert (seen.platform, seen.region, seen.domain) == ("lazada", "MY", "finance")
    assert seen.inferred == []
    other = fact("https://api.lazada.sg/rest/order/get", platform="shopee")
    assert (other.platform, other.region) == ("shopee", None)  # a Lazada host says nothing of Shopee's region


def test_a_platform_the_caller_names_wrongly_is_inferred_instead():
    seen = fact("https://open-api.tiktokglobalshop.com/order/202309/orders", platform="tiktok")
    assert seen.platform == "tiktok_shop" and "platform" in seen.inferred


@pytest.mark.parametrize("endpoint", [
    "https://erp.example.com/api/orders",
    "/api/v2/order/get_order_detail",  # a path alone names no host
    "http://[::1",  # not a URL at all
    "",
])
def test_an_unknown_or_missing_host_stays_generic_without_a_region_or_environment(endpoint):
    seen = fact(endpoint)
    assert (seen.platform, seen.region) == ("generic", None)
    assert "host_environment" not in seen.derived and "api_region" not in seen.derived
