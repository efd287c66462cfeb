"""The opsdiag API from Python: `OpsdiagClient` (http.py) and the typed answer (answer.py)."""

from .answer import Diagnosis, Result, Scoring
from .http import (
    InvalidParam,
    OpsdiagClient,
    OpsdiagConnectionError,
    OpsdiagError,
    ProblemError,
    ServerError,
)

__all__ = [
    "Diagnosis", "InvalidParam", "OpsdiagClient", "OpsdiagConnectionError", "OpsdiagError",
    "ProblemError", "Result", "Scoring", "ServerError",
]
