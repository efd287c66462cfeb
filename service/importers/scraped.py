"""TikTok Shop, Shopee and Lazada publish no spec or SDK that encodes their parameter tables:
their importers read the reference pages as scraped into one public repository, and each
writes its documents in the same form."""

from .git_source import GitSource

REPOSITORY = "https://github.com/lazykern/ecommerce-api-docs"


def document(platform: str, api: str, version: str, name: str, under: str, source: GitSource,
             note: str, what: str, ops: dict) -> dict:
    """One schema document: its operations and exactly what was read to make them."""
    return {
        "platform": platform, "api": api, "version": version, "name": name,
        "source": {"repository": REPOSITORY, "path": under, "commit": source.commit, "note": note, "what": what},
        "operations": ops,
    }
