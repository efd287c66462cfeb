"""The shape of an opsdiag answer, defined once: the engine builds it, the HTTP layer, the
batch tool, the console and the gap recorder read it, and clients receive it.

TypedDicts rather than classes: the answer is built and serialised tens of thousands of
times a second in batch runs, and a dict costs nothing to turn into JSON; the types still
let a checker catch a misspelt key anywhere. `tests/api/test_contract.py` holds each to its
schema in openapi.yaml (required keys, optional keys, nothing else).
"""

from typing import Any, NotRequired, TypedDict


class Scoring(TypedDict):
    """How the evidence ranked a diagnosis: the weight each matched condition counted for,
    and the evidence against it that held."""

    score: float
    counted: dict[str, float]
    against: list[str]


class Diagnosis(TypedDict):
    """One root cause: its category and owner, the explanation and repair steps in the
    answer's language, the platform's doc page and the evidence that led there."""

    rule_id: str | None  # None: no rule matched; the status alone speaks
    category: str  # a key of taxonomy.yaml, or "unknown"
    owner: str  # integrator, seller, platform, network or unknown
    title: str
    explanation: str
    repair_steps: list[str]
    doc_url: str | None
    confidence: float  # calibrated: of answers given this confidence, about this share is right
    evidence: dict[str, Any]
    scoring: Scoring
    field: NotRequired[str]  # the request field the error is about, as the platform names it
    field_sent: NotRequired[str]  # what the posted request body held at `field`


class Result(TypedDict):
    """The answer of POST /diagnose (and each item of /diagnose/batch, without request_id)."""

    request_id: NotRequired[str]  # set by the HTTP layer
    kb_version: str
    platform: str
    region: str | None
    domain: str
    inferred: list[str]  # which of platform, region, domain were inferred from the endpoint
    matched: bool
    diagnoses: list[Diagnosis]  # best first; never empty
    runner_up: NotRequired[str]  # why the best diagnosis of another category ranked lower
    warnings: NotRequired[list[str]]  # payload fields that were ignored
