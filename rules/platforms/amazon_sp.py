"""Amazon Selling Partner API: three regional hosts; the marketplace id names the country.

Amazon writes the United Kingdom as UK in its table; opsdiag uses ISO's GB.
"""

from .base import Platform

PLATFORM = Platform(
    name="amazon_sp",
    title="Amazon SP-API",
    sources=(
        "https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints",
        "https://developer-docs.amazon.com/sp-api/docs/marketplace-ids",
    ),
    api_hosts=(
        "sellingpartnerapi-na.amazon.com", "sellingpartnerapi-eu.amazon.com", "sellingpartnerapi-fe.amazon.com",
        "api.amazon.com",  # Login with Amazon: the token endpoint
    ),
    doc_hosts=("developer-docs.amazon.com", "github.com"),
    doc_page=r"https://developer-docs\.amazon\.com/sp-api/(?:docs|reference|changelog)/[a-z0-9-]+",
    aliases=("amazon", "sp_api", "spapi", "amazon_sp_api"),
    marketplace_ids={
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
    },
    marketplace_params=("marketplaceIds", "MarketplaceIds", "marketplaceId", "MarketplaceId"),
    api_region=r"sellingpartnerapi-(na|eu|fe)\.amazon\.com$",
)
