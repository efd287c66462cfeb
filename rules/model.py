"""Immutable rule objects, built by the loader and consumed by the compiler."""

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import platforms

PLATFORMS = platforms.NAMES  # the registry's marketplaces and "generic"
DOMAINS = (
    "auth", "orders", "products", "inventory", "fulfillment",
    "logistics", "finance", "webhook", "other",
)
LANGUAGES = ("en", "zh-CN")


@dataclass(frozen=True)
class Condition:
    """One test on one value of the normalized fact.

    `source` names where the value comes from (`status`, `headers`, `body`, ...),
    `name` the header, JMESPath, context or derived key within it ("" for scalars),
    and `ops` the operators, e.g. (("gte", 500), ("lt", 600)).
    """

    source: str
    name: str
    ops: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        return f"{self.source}.{self.name}" if self.name else self.source


@dataclass(frozen=True)
class Text:
    title: str
    explanation: str
    repair_steps: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    id: str
    platforms: frozenset[str]
    regions: frozenset[str] | None  # None: every region
    domains: frozenset[str] | None  # None: every domain
    priority: int
    conditions: tuple[Condition, ...]
    category: str
    owner: str
    doc_url: str
    texts: dict[str, Text]
    source: str
    examples_match: tuple[dict, ...] = ()
    examples_no_match: tuple[dict, ...] = ()
    file: str = ""
    against: tuple[Condition, ...] = ()  # `unless`: evidence that counts against the rule
    field: str | None = None  # the request field the rule's error is about, when fixed
    document: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def applies_to(self, platform: str, region: str | None, domain: str) -> bool:
        """Whether a payload of this platform/region/domain can meet this rule at all."""
        return (
            (platform in self.platforms or "generic" in self.platforms)
            and (self.regions is None or region in self.regions)
            and (self.domains is None or domain in self.domains)
        )
