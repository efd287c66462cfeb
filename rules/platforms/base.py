"""What opsdiag knows of one marketplace, in one value: the fields every feature asks for."""

import re
from dataclasses import dataclass, field


def canonical_host(host: str) -> str:
    """A host as the registry lists it: lower case, without the trailing dot of a fully
    qualified name (`api.lazada.sg.` is `api.lazada.sg`)."""
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


@dataclass(frozen=True)
class Platform:
    """A marketplace's published facts; each module of this package defines one as PLATFORM.

    Everything here is read off the platform's own documentation (`sources`); a fact the
    platform does not publish is left empty rather than guessed.
    """

    name: str  # the id in rules, answers, openapi.yaml and kb_content/<name>/
    title: str
    sources: tuple[str, ...]  # where the hosts, regions and signing facts below come from
    api_hosts: tuple[str, ...]  # host suffixes of its API and authorization servers
    doc_hosts: tuple[str, ...]  # hosts a rule's doc_url may point at
    doc_page: str  # regular expression of one documentation page's address
    aliases: tuple[str, ...] = ()  # how exported logs name it (`tiktok`, `amazon`, ...)
    region_hosts: dict[str, str] = field(default_factory=dict)  # API host -> country it serves
    marketplace_ids: dict[str, str] = field(default_factory=dict)  # marketplace id -> country
    marketplace_params: tuple[str, ...] = ()  # query parameters that carry marketplace ids
    api_region: str | None = None  # regular expression whose group 1 is the host's API region
    path_prefix: str = ""  # what the API host puts before the paths its reference documents
    params_in_body: bool = False  # business parameters sent as a form body, not a JSON document
    # (path prefix, signing scheme of service/debugging/signing.py): the first prefix that
    # starts the request path wins; "" matches every path.
    signing: tuple[tuple[str, str], ...] = ()

    def serves(self, host: str) -> bool:
        host = canonical_host(host)
        return any(host == suffix or host.endswith("." + suffix) for suffix in self.api_hosts)

    def region_of(self, host: str, query: dict[str, str]) -> str | None:
        """The country a call is for, when the host or a marketplace id says so."""
        host = canonical_host(host)
        if host in self.region_hosts:
            return self.region_hosts[host]
        for key in self.marketplace_params:
            first = query.get(key, "").split(",")[0].strip()
            if first in self.marketplace_ids:
                return self.marketplace_ids[first]
        return None

    def api_region_of(self, host: str) -> str | None:
        match = re.search(self.api_region, canonical_host(host)) if self.api_region else None
        return match.group(1) if match else None

    def signing_scheme(self, path: str) -> str | None:
        return next((scheme for prefix, scheme in self.signing if path.startswith(prefix)), None)
