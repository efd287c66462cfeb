"""Lazada Open Platform: one /rest host per country, auth.lazada.com for all."""

from .base import Platform

PLATFORM = Platform(
    name="lazada",
    title="Lazada",
    sources=(
        "Lazada Open Platform (open.lazada.com), API endpoint URLs: one /rest host per country, "
        "auth.lazada.com for all",
        "lazop-sdk (Lazada Open Platform official SDK), lazop/base.py sign()",
    ),
    api_hosts=(
        "lazada.com", "lazada.sg", "lazada.co.id", "lazada.com.my", "lazada.co.th", "lazada.vn", "lazada.com.ph",
    ),
    doc_hosts=("open.lazada.com",),
    doc_page=r"https://open\.lazada\.com/(?:doc/doc\?docId=\d+|apps/doc/api\?path=[%0-9A-Za-z_/]+)",
    region_hosts={
        "api.lazada.sg": "SG",
        "api.lazada.co.id": "ID",
        "api.lazada.com.my": "MY",
        "api.lazada.co.th": "TH",
        "api.lazada.vn": "VN",
        "api.lazada.com.ph": "PH",
    },
    path_prefix="/rest",  # the reference names APIs without it
    params_in_body=True,  # business parameters travel with the system ones, form-encoded
    signing=(("", "lazada"),),
)
