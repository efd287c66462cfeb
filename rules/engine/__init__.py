"""The diagnosis engine: one knowledge-base version compiled, then run stage by stage.

normalize.py (payload -> Fact) -> match.py (durable-rules: which rules hold) ->
score.py (rank by evidence, calibrate confidence) -> explain.py (render the answer);
compiler.py only turns rules into durable-rules rulesets, once per version, and
pipeline.py's `Engine` runs the stages in that order. Nothing here knows Flask.
"""

from .match import EngineClosed
from .pipeline import MAX_DIAGNOSES, Engine

__all__ = ["MAX_DIAGNOSES", "Engine", "EngineClosed"]
