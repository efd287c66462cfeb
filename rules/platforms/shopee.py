"""Shopee Open Platform: hosts per data centre, not per country, so the region comes from the caller."""

from .base import Platform

PLATFORM = Platform(
    name="shopee",
    title="Shopee",
    sources=(
        "Shopee Open Platform, API calls: partner.shopeemobile.com, openplatform.shopee.cn and .com.br; "
        "sandbox openplatform.sandbox.test-stable.shopee.sg/.cn, test partner.test-stable.shopeemobile.com",
        "https://open.shopee.com/developer-guide/16",  # signature calculation
    ),
    api_hosts=(
        "shopeemobile.com", "openplatform.shopee.cn", "openplatform.shopee.com.br",
        "openplatform.sandbox.test-stable.shopee.sg", "openplatform.sandbox.test-stable.shopee.cn",
    ),
    doc_hosts=("open.shopee.com", "open.shopee.cn"),
    doc_page=r"https://open\.shopee\.(?:com|cn)/(?:developer-guide/\d+|documents/v2/v2\.[a-z_.]+)",
    signing=(("", "shopee_v2"),),
)
