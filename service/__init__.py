"""HTTP layer of opsdiag: Flask app factory, blueprints, marshmallow schemas and the CLI.

It parses and validates requests, hands plain dicts to `rules`, and renders answers;
it knows nothing of durable-rules.
"""
