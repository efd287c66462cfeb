"""TikTok Shop: one API host for every market, so the region comes from the caller."""

from .base import Platform

PLATFORM = Platform(
    name="tiktok_shop",
    title="TikTok Shop",
    sources=(
        "TikTok Shop partner docs, Methods and endpoints: one API host for every market",
        "TikTok Shop partner docs, 202309 authorization guide: auth.tiktok-shops.com, services.*tiktokshop*",
        "https://partner.tiktokshop.com/docv2/page/sign-your-api-request",  # 202309 signing
        "https://partner.tiktokshop.com/doc/page/274638",  # legacy /api/ signing
    ),
    api_hosts=("tiktokglobalshop.com", "tiktok-shops.com", "tiktokshop.com", "tiktokshops.us"),
    doc_hosts=("partner.tiktokshop.com", "partner.us.tiktokshop.com"),
    doc_page=r"https://partner(?:\.us)?\.tiktokshop\.com/docv2/page/[0-9a-f]{24}",
    aliases=("tiktok", "tiktokshop", "tts"),
    signing=(("/api/", "tiktok_shop_legacy"), ("", "tiktok_shop")),
)
