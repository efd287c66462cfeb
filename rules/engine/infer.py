"""Which platform, region, domain and environment an endpoint belongs to.

The hosts, regions and marketplace ids are the platform registry's (rules/platforms/,
each module citing where its facts come from); anything not recognised stays unknown
rather than guessed. What is not a platform's fact lives here: sandbox hosts and the
path keywords of each API domain.
"""

import re

from .. import platforms

SANDBOX_HOST = re.compile(r"(^|[.-])(sandbox|test-stable|uat)([.-]|$)")

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
    found = platforms.of_host(host)
    return found.name if found else platforms.GENERIC


def region_of(platform: str, host: str, query: dict[str, str]) -> str | None:
    found = platforms.MARKETPLACES.get(platform)
    return found.region_of(host, query) if found else None


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
    return "production" if platform != platforms.GENERIC else None


def api_region(host: str) -> str | None:
    """The API region a host serves (SP-API's na/eu/fe), whichever platform's host it is."""
    found = platforms.of_host(host)
    return found.api_region_of(host) if found else None
