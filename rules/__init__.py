"""The rule engine of opsdiag: rule model, loader, compiler to durable-rules, evaluator.

Nothing in this package knows about HTTP or Flask; it takes plain payload dicts and
returns plain result dicts, so the CLI, the batch runner and the web service share it.
"""
