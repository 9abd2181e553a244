"""Prometheus metrics: the instruments every process reports to, and the exposition of a scrape.

Processes report through the functions here: the HTTP app (`record_request`), relays
(`record_delivery`) and syncs (`record_sync`). Under gunicorn each worker is its own process, so
`open311 serve` turns on prometheus_client's multiprocess mode (`enable_multiprocess`): every
process writes its samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape of any worker adds
them up. Outbox depth, age and dead letters are not counted by anyone: they are read from the
outbox table when /metrics is scraped (open311.delivery.gauges), so they are right however many
processes run.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OUTCOMES = ("delivered", "temporary_failure", "permanent_failure")


@dataclass(frozen=True)
class Instruments:
    """The process-level metric objects (created once, on first use)."""

    requests: Counter
    request_seconds: Histogram
    deliveries: Counter
    delivery_seconds: Histogram
    last_sync: Gauge


_creating = threading.Lock()


def instruments() -> Instruments:
    """The metric objects, created on first use; their storage (memory or multiprocess files) is fixed from then on.

    Under a lock: a worker's threads answer its first requests together, and functools.cache alone would let two
    of them create a second set, whose registration of the same names fails (DuplicateTimeseries, a 500).
    """
    with _creating:
        return _instruments()


def created() -> bool:
    """Whether the metric objects exist yet."""
    return bool(_instruments.cache_info().currsize)


@functools.cache
def _instruments() -> Instruments:
    return Instruments(
        requests=Counter("open311_http_requests", "HTTP requests answered, by route template, method and status.",
                         ["route", "method", "status"]),
        request_seconds=Histogram("open311_http_request_duration_seconds", "Time to answer HTTP requests.",
                                  ["route", "method"], buckets=HTTP_BUCKETS),
        deliveries=Counter("open311_deliveries", "Delivery attempts to back offices, by department and outcome "
                           "(delivered, temporary_failure, permanent_failure).", ["department", "outcome"]),
        delivery_seconds=Histogram("open311_delivery_duration_seconds", "Time a back office took to answer a "
                                   "delivery, by department.", ["department"], buckets=DELIVERY_BUCKETS),
        last_sync=Gauge("open311_last_successful_sync_timestamp_seconds", "When the status sync of a department "
                        "last completed without error (Unix time).", ["department"], multiprocess_mode="max"),
    )


# The labelled children of the request metrics, looked up once per (route, method, status): routes are URL
# rules, so there are few of them, and labels() costs as much as the count itself.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request (route is the URL rule, never the raw path)."""
    children = _request_children.get((route, method, status))
    if children is None:
        metrics = instruments()
        children = (metrics.requests.labels(route, method, str(status)), metrics.request_seconds.labels(route, method))
        _request_children[(route, method, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def record_delivery(department: str, seconds: float, ok: bool, *, permanent: bool = False) -> None:
    """Count one delivery attempt: ok, or failed temporarily (will retry) or permanently (dead letter)."""
    metrics = instruments()
    outcome = "delivered" if ok else ("permanent_failure" if permanent else "temporary_failure")
    metrics.deliveries.labels(department, outcome).inc()
    metrics.delivery_seconds.labels(department).observe(seconds)


def record_sync(department: str, when: datetime) -> None:
    """Note that a department's status sync completed without error at `when` (aware datetime)."""
    instruments().last_sync.labels(department).set(when.timestamp())


def enable_multiprocess(directory: str | Path) -> None:
    """Share samples across processes through files in `directory`; call before any metric is used.

    prometheus_client chooses its value storage from the environment when it is imported, so the
    choice is made again here for processes that set the variable later (the `open311` command).
    """
    if created():
        raise RuntimeError("enable_multiprocess must be called before the first metric is recorded")
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def multiprocess_directory() -> str | None:
    """The directory samples are shared through, when multiprocess mode is on."""
    return os.environ.get(MULTIPROC_ENV) or None


def forget_process(pid: int) -> None:
    """Bookkeeping when a worker exits (gunicorn child_exit): drop its live gauges."""
    if multiprocess_directory():
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition(collectors: Iterable[Collector] = ()) -> bytes:
    """The text exposition: this process's (or, in multiprocess mode, every process's) samples + `collectors`."""
    instruments()  # so the metric families are listed even before the first sample
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    if multiprocess_directory():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)


def start_metrics_server(port: int, addr: str = "127.0.0.1",
                         collectors: Iterable[Collector] = ()) -> tuple[WSGIServer, threading.Thread]:
    """Serve the metrics on their own port from a daemon thread (for relay and sync processes).

    Returns the server (its `server_port` is the port when 0 was asked for; `shutdown()` stops it).
    """
    from prometheus_client import start_http_server

    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    if multiprocess_directory():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Default())
    return start_http_server(port, addr, registry=registry)


class _Default(Collector):
    """The default registry's samples, re-exposed through another registry."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        """Everything the default registry holds."""
        yield from REGISTRY.collect()
