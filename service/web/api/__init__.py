"""Blueprints of the public API."""
