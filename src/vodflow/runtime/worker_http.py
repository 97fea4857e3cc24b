"""`vodflow worker`'s own small HTTP endpoint: GET /metrics and GET /healthz.

/metrics: the worker's counters and histograms, and the deployment-wide gauges
read fresh from the database at each scrape (never values frozen at start-up).
/healthz: 200 when the worker's database and broker answer, 503 (naming what
failed) otherwise, so an orchestrator can see and restart a worker that lost them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from celery import Celery
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from vodflow import metrics
from vodflow.runtime.celery_app import WorkerRuntime, broker_ping

log = logging.getLogger("vodflow.worker")
TIMEOUT_S = 3.0


def serve_worker_http(host: str, port: int, runtime: WorkerRuntime, app: Celery) -> None:
    """Serve /metrics and /healthz from a daemon thread."""

    def db_of() -> Any:
        return runtime.services.db  # type: ignore[attr-defined]

    async def select_one() -> None:
        async with asyncio.timeout(TIMEOUT_S):
            async with db_of().read() as conn:
                await conn.execute(text("SELECT 1"))

    def health() -> tuple[bool, dict[str, str]]:
        checks: dict[str, str] = {}
        for name, probe in (
            ("database", lambda: runtime.call(select_one())),
            ("broker", lambda: broker_ping(app, TIMEOUT_S)),
        ):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"down: {type(exc).__name__}"
        return all(v == "ok" for v in checks.values()), checks

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                try:
                    runtime.call(metrics.refresh(db_of()))
                except Exception as exc:
                    log.warning("metrics refresh failed: %s", exc)
                self._send(200, CONTENT_TYPE_LATEST, metrics.exposition())
            elif path == "/healthz":
                ok, checks = health()
                body = {"status": "ok" if ok else "unavailable", "checks": checks}
                self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
