"""TikTok Shop, Shopee and Lazada publish no spec or SDK that encodes their parameter tables:
their importers read the reference pages as scraped into one public repository, and each
writes its documents in the same form."""

from collections.abc import Callable, Iterable

from .git_source import GitSource

REPOSITORY = "https://github.com/lazykern/ecommerce-api-docs"


def load(git_dir, commit: str, parts: Iterable[str], under: str,
         read: Callable[[str, str], Iterable[tuple[str, dict]]], describe: Callable[[str], tuple[str, str, str, str]],
         note: str, what: str, suffix: str = ".json") -> list[dict]:
    """One document per part (an API folder of the scrape): `under` is its folder (with `{}` for
    the part), `read(text, part)` gives a file's (name, operation) pairs, `describe(part)` the
    document's (platform, api, version, name)."""
    source = GitSource(git_dir, commit)
    documents = []
    for part in parts:
        folder = under.format(part)
        ops: dict = {}
        for text in source.texts_under(folder, suffix):
            ops.update(read(text, part))
        platform, api, version, name = describe(part)
        documents.append({
            "platform": platform, "api": api, "version": version, "name": name,
            "source": {"repository": REPOSITORY, "path": folder, "commit": source.commit, "note": note, "what": what},
            "operations": ops,
        })
    return documents
