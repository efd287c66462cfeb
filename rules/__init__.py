"""The rules side of opsdiag: what a rule is and how it is run, never how it is served.

    model.py, taxonomy.py   the rule language: Rule, Condition, categories and owners
    platforms/              one module per marketplace, and the registry that lists them
    engine/                 normalize -> match -> score -> explain, and the compiler
    reqcheck/               a sent request checked against the platform's published schema
    kb/                     the knowledge base: loading, validation, store, curation, lint,
                            coverage, fact checks, unexplained-error mining
    privacy.py              every masking of secrets, personal data and error shapes
    runtime.py              KnowledgeBase: the published version a server diagnoses with

Nothing here imports Flask or `service`: payloads in, plain data out.
"""

from pathlib import Path

# The checkout's kb_content: where rules and request schemas are read from when the caller
# (service.settings) names no other directory.
DEFAULT_KB_DIR = Path(__file__).resolve().parent.parent / "kb_content"
