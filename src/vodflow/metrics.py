"""Prometheus metrics: what an operator of a scaled deployment watches.

Counters and histograms are per process (every API replica and every worker is
scraped on its own, as Prometheus expects); the queue gauges are read from the
database at scrape time, so every replica reports the same, deployment-wide
figures. Other modules call the `observe_*` functions; nothing here imports them.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.requests import Request
from starlette.responses import Response

from vodflow.store import stats
from vodflow.store.db import Database

REQUESTS = Counter(
    "vodflow_api_requests",
    "API requests by action and outcome (OK or the Tencent error code).",
    ["action", "code"],
)
REQUEST_SECONDS = Histogram(
    "vodflow_api_request_seconds",
    "API request latency by action (PullEvents includes its long-poll wait).",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUEUE_DEPTH = Gauge(
    "vodflow_subtasks", "Subtasks of live flows by state: WAITING (queued), PROCESSING.", ["state"]
)
PULL_BACKLOG = Gauge("vodflow_pull_backlog", "PULL events not yet confirmed, all applications.")
PULLS_HELD = Gauge("vodflow_pulls_held", "PullEvents requests held open, waiting for an event.")
PUSH_PENDING = Gauge("vodflow_push_pending", "PUSH events waiting for a (next) delivery attempt.")
DELIVERY_ATTEMPTS = Counter(
    "vodflow_push_attempts", "Push delivery attempts by result (ok or error).", ["result"]
)
DELIVERY_FAILURES = Counter(
    "vodflow_push_failures", "Push deliveries given up after the last retry (FAILED)."
)
SUBTASK_SECONDS = Histogram(
    "vodflow_subtask_seconds",
    "Wall time of one subtask run, by type (Transcode...) and status (SUCCESS, FAIL).",
    ["type", "status"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)

UNKNOWN_ACTION = "unknown"
_GAUGE_TTL_S = 1.0
_last_refresh = 0.0
_refresh_lock = threading.Lock()


# The labelled children of the request metrics, found once: `labels()` validates and
# locks on every call, on every request. Bounded as the metrics themselves are (known
# actions and error codes).
_request_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def observe_request(action: str, code: str, seconds: float) -> None:
    """One API request; callers pass UNKNOWN_ACTION for actions that do not exist."""
    children = _request_children.get((action, code))
    if children is None:
        children = (REQUESTS.labels(action, code), REQUEST_SECONDS.labels(action))
        _request_children[(action, code)] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_delivery(ok: bool) -> None:
    DELIVERY_ATTEMPTS.labels("ok" if ok else "error").inc()


def observe_delivery_failed(count: int = 1) -> None:
    DELIVERY_FAILURES.inc(count)


def observe_subtask(subtask_type: str, status: str, seconds: float) -> None:
    SUBTASK_SECONDS.labels(subtask_type, status).observe(max(0.0, seconds))


async def refresh(db: Database) -> None:
    """Read the deployment-wide gauges from the database (at most once a second)."""
    global _last_refresh
    with _refresh_lock:
        if time.monotonic() - _last_refresh < _GAUGE_TTL_S:
            return
        _last_refresh = time.monotonic()
    async with db.read() as conn:
        live = await stats.subtasks_live(conn)
        backlog = await stats.pull_backlog(conn)
        pending = await stats.push_pending(conn)
    for state, n in live.items():
        QUEUE_DEPTH.labels(state).set(n)
    PULL_BACKLOG.set(backlog)
    PUSH_PENDING.set(pending)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics (no signature, like /healthz: keep it on the internal network)."""
    services = getattr(request.app.state, "services", None)
    if services is not None:
        await refresh(services.db)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def serve_in_thread(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics from a thread (workers, which have no HTTP server of their own)."""
    start_http_server(port, addr=host)
