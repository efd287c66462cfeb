"""Which platform, region, domain and environment an endpoint belongs to.

The tables hold only hosts and identifiers the platforms publish; anything not
recognised stays unknown rather than guessed. Only Lazada names the country in its
host and SP-API in its marketplace id; TikTok Shop and Shopee hosts do not, so their
region comes from the caller or stays unknown. Sources:
- TikTok Shop: partner docs "Methods and endpoints" (one API host for every market)
  and the 202309 authorization guide (auth.tiktok-shops.com, services.*tiktokshop*).
- Shopee: open.shopee.com "API calls" (partner.shopeemobile.com, openplatform.shopee.cn,
  openplatform.shopee.com.br; sandbox openplatform.sandbox.test-stable.shopee.sg/.cn,
  test host partner.test-stable.shopeemobile.com).
- Lazada: open.lazada.com "API endpoint URLs" (one /rest host per country,
  auth.lazada.com for all).
- SP-API: developer-docs.amazon.com/sp-api/docs/sp-api-endpoints and
  /docs/marketplace-ids (Amazon writes the United Kingdom as UK; ISO says GB).
"""

import re

# (host suffix, platform). Checked in order; the first suffix that ends the host wins.
PLATFORM_HOSTS = (
    ("tiktokglobalshop.com", "tiktok_shop"),
    ("tiktok-shops.com", "tiktok_shop"),
    ("tiktokshop.com", "tiktok_shop"),
    ("tiktokshops.us", "tiktok_shop"),
    ("sellingpartnerapi-na.amazon.com", "amazon_sp"),
    ("sellingpartnerapi-eu.amazon.com", "amazon_sp"),
    ("sellingpartnerapi-fe.amazon.com", "amazon_sp"),
    ("api.amazon.com", "amazon_sp"),
    ("shopeemobile.com", "shopee"),
    ("openplatform.shopee.cn", "shopee"),
    ("openplatform.shopee.com.br", "shopee"),
    ("openplatform.sandbox.test-stable.shopee.sg", "shopee"),
    ("openplatform.sandbox.test-stable.shopee.cn", "shopee"),
    ("lazada.com", "lazada"),
    ("lazada.sg", "lazada"),
    ("lazada.co.id", "lazada"),
    ("lazada.com.my", "lazada"),
    ("lazada.co.th", "lazada"),
    ("lazada.vn", "lazada"),
    ("lazada.com.ph", "lazada"),
)

# Lazada serves each country from its own API host.
LAZADA_REGIONS = {
    "api.lazada.sg": "SG",
    "api.lazada.co.id": "ID",
    "api.lazada.com.my": "MY",
    "api.lazada.co.th": "TH",
    "api.lazada.vn": "VN",
    "api.lazada.com.ph": "PH",
}

# SP-API marketplace ids (query parameter marketplaceIds / MarketplaceIds).
AMAZON_MARKETPLACES = {
    "ATVPDKIKX0DER": "US",
    "A2EUQ1WTGCTBG2": "CA",
    "A1AM78C64UM0Y8": "MX",
    "A2Q3Y263D00KWC": "BR",
    "A1F83G8C2ARO7P": "GB",
    "A1PA6795UKMFR9": "DE",
    "A13V1IB3VIYZZH": "FR",
    "APJ6JRA9NG5V4": "IT",
    "A1RKKUPIHCS9HS": "ES",
    "A1805IZSGTT6HS": "NL",
    "A2NODRKZP88ZB9": "SE",
    "A1C3SOZRARQ6R3": "PL",
    "A33AVAJ2PDY3EV": "TR",
    "A2VIGQ35RCS4UG": "AE",
    "A17E79C6D8DWNP": "SA",
    "A21TJRUUN4KGV": "IN",
    "A1VC38T7YXB528": "JP",
    "A39IBJ37TRP1C6": "AU",
    "A19VAU5U5O7RUS": "SG",
    "AMEN7PMS3EDWL": "BE",
    "ARBP9OOSHTCHU": "EG",
    "A28R8C7NBKEWEA": "IE",
    "AE08WJ6YKNBMC": "ZA",
}

SANDBOX_HOST = re.compile(r"(^|[.-])(sandbox|test-stable|uat)([.-]|$)")
SP_API_REGION = re.compile(r"sellingpartnerapi-(na|eu|fe)\.amazon\.com$")

# Path keywords, most specific first: an inventory update under /product/ is inventory.
DOMAIN_KEYWORDS = (
    (re.compile(r"webhook|callback|notification|/event|/push"), "webhook"),
    (re.compile(r"/auth|token|/oauth|authori[sz]"), "auth"),
    (re.compile(r"inventor|stock"), "inventory"),
    (re.compile(r"fulfil|/package|shipment|ship_order|/ship\b|/rts"), "fulfillment"),
    (re.compile(r"logistic|tracking|shipping"), "logistics"),
    (re.compile(r"financ|payment|settlement|statement|/transaction|payout"), "finance"),
    (re.compile(r"order|return_refund|/returns?/|/reverse/|/cancel"), "orders"),
    (re.compile(r"product|/item|catalog|listing|categor|brand|/feeds|/sku"), "products"),
)


def platform_of(host: str) -> str:
    for suffix, platform in PLATFORM_HOSTS:
        if host == suffix or host.endswith("." + suffix):
            return platform
    return "generic"


def region_of(platform: str, host: str, query: dict[str, str]) -> str | None:
    if platform == "lazada":
        return LAZADA_REGIONS.get(host)
    if platform == "amazon_sp":
        for key in ("marketplaceIds", "MarketplaceIds", "marketplaceId", "MarketplaceId"):
            first = query.get(key, "").split(",")[0].strip()
            if first in AMAZON_MARKETPLACES:
                return AMAZON_MARKETPLACES[first]
    return None


def domain_of(path: str) -> str:
    lowered = path.lower()
    for pattern, domain in DOMAIN_KEYWORDS:
        if pattern.search(lowered):
            return domain
    return "other"


def host_environment(platform: str, host: str) -> str | None:
    """Sandbox when the host says so; production for a known platform host."""
    if not host:
        return None
    if SANDBOX_HOST.search(host):
        return "sandbox"
    return "production" if platform != "generic" else None


def api_region(host: str) -> str | None:
    match = SP_API_REGION.search(host)
    return match.group(1) if match else None
