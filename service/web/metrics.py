"""Prometheus metrics of the HTTP layer; the engine (rules/) knows nothing of them.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set
(service/web/gunicorn_conf.py sees to it) each worker writes its samples to files there and
`/metrics` adds up all workers. Without it (one process: tests, `flask run`) the
default registry is served. prometheus_client picks its storage when it is first
imported, so the variable must be set before the app is imported (gunicorn's
on_starting hook runs before any worker is forked).
"""


from opsdiag_client.answer import Result
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

from ..settings import current

disable_created_metrics()  # no *_created series: one process or many, the same exposition

MULTIPROC_DIR = current().prometheus_multiproc_dir
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus understands

DIAGNOSES = Counter(
    "opsdiag_diagnoses", "Answers of /diagnose by the first-ranked diagnosis",
    ["category", "owner", "platform"])
UNMATCHED = Counter(
    "opsdiag_unmatched", "Answers of /diagnose that no rule matched (category unknown)", ["platform"])
LATENCY = Histogram(
    "opsdiag_http_request_duration_seconds", "Time to build a response, per route",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


_children: dict = {}


def _child(metric, *labels: str):
    """metric.labels(*labels), kept: prometheus_client checks and locks on every labels() call,
    and a request makes three. The label values are bounded (taxonomy, platforms, routes,
    statuses), so is this."""
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def record_diagnosis(result: Result) -> None:
    """Count one /diagnose answer from the response dict the engine returned."""
    platform = str(result.get("platform") or "unknown")
    diagnoses = result.get("diagnoses") or [{}]
    first = diagnoses[0]
    _child(DIAGNOSES, str(first.get("category") or "unknown"), str(first.get("owner") or "unknown"), platform).inc()
    if not result.get("matched"):
        _child(UNMATCHED, platform).inc()


class KnowledgeBaseCollector:
    """The knowledge base as seen by the worker answering the scrape (all workers follow
    the same store pointer, within OPSDIAG_POLL_SECONDS of each other)."""

    def __init__(self, kb):
        self.kb = kb

    def collect(self):
        status = self.kb.status()
        info = InfoMetricFamily("opsdiag_kb", "Knowledge-base version served", labels=["kb_version", "kb_source"])
        info.add_metric([status.kb_version, status.source], {})
        yield info
        yield GaugeMetricFamily("opsdiag_kb_rules", "Rules in the version served", value=status.rule_count)
        yield GaugeMetricFamily("opsdiag_kb_reloads",
                                "Knowledge-base versions swapped in since the answering worker started",
                                value=status.reloads)
        yield GaugeMetricFamily("opsdiag_kb_store_up", "1 when the rule store answered the last poll",
                                value=1 if status.store_ok else 0)


class _DefaultRegistry:
    def collect(self):
        yield from REGISTRY.collect()


def exposition(kb) -> bytes:
    """The text exposition of every worker's metrics plus the knowledge base's."""
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(_DefaultRegistry())
    registry.register(KnowledgeBaseCollector(kb))
    return generate_latest(registry)


def observe(method: str, route: str | None, status: int, seconds: float) -> None:
    """One request's latency, labelled by route (the URL rule, never the raw path)."""
    _child(LATENCY, method if method in _METHODS else "other", route or "unmatched", str(status)).observe(seconds)
