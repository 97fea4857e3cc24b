"""Helpers of the event tests: an in-process vodflow, events written through the outbox."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers import SECRET_ID, SECRET_KEY
from vodflow.app import Services, build_services
from vodflow.config import Settings
from vodflow.core import events
from vodflow.store import apps as apps_q

SEED_BODY = json.loads(Path("/work/shared/seed/push_callback_body.json").read_text())


def seed_task(n: int = 0) -> dict[str, Any]:
    """A ProcedureTask like the seed's, with a distinct TaskId."""
    task = json.loads(json.dumps(SEED_BODY["ProcedureStateChangeEvent"]))
    task["TaskId"] = f"1250000000-Procedure-test{n:08d}t1"
    return task


@asynccontextmanager
async def running_services(data_dir: Path, **overrides: Any) -> AsyncIterator[Services]:
    """vodflow's services in this process, background parts started, as `serve` runs them."""
    settings = Settings(
        data_dir=data_dir, secret_id=SECRET_ID, secret_key=SECRET_KEY, allow_private_urls=True
    ).with_overrides(**overrides)
    services = await build_services(settings)
    for part in services.background:
        await part.start()
    try:
        yield services
    finally:
        for part in reversed(services.background):
            await part.stop()
        await services.db.close()


async def emit_many(
    services: Services,
    n: int,
    *,
    app_id: int | None = None,
    event_type: str = "ProcedureStateChanged",
    per_tx: int = 500,
    start: int = 0,
) -> None:
    """Write `n` events through core.events.emit, `per_tx` per transaction."""
    app_id = app_id or services.settings.app_id
    done = 0
    while done < n:
        async with services.db.tx() as conn:
            app = await apps_q.get(conn, app_id)
            assert app is not None
            for i in range(done, min(n, done + per_tx)):
                await events.emit(conn, app, event_type, seed_task(start + i))
        done = min(n, done + per_tx)


@dataclass
class Receiver:
    """A real HTTP receiver on loopback that answers by a script and keeps what it got."""

    script: list[int] = field(default_factory=list)  # status codes to answer first
    default: int = 200
    delay_s: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    hits: int = 0
    # Every POST, answered 2xx or not: {"at", "body", "headers", "code"}.
    attempts: list[dict[str, Any]] = field(default_factory=list)
    # Requests being handled right now, and the most there ever were at once.
    inflight: int = 0
    max_inflight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    got_one: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def answer(self) -> int:
        with self.lock:
            self.hits += 1
            return self.script.pop(0) if self.script else self.default


class _Server(ThreadingHTTPServer):
    # vodflow opens up to 16 connections at once per URL; the default backlog is 5.
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def receiver(port: int = 0, **kwargs: Any) -> Iterator[Receiver]:
    rec = Receiver(**kwargs)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            with rec.lock:
                rec.inflight += 1
                rec.max_inflight = max(rec.max_inflight, rec.inflight)
            try:
                code = self._take()
            finally:
                # Out of flight before answering: the sender may start its next request
                # as soon as it has the answer.
                with rec.lock:
                    rec.inflight -= 1
            payload = b'{"ok":true}' if code < 300 else b"nope"
            self.send_response(code)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _take(self) -> int:
            at = time.time()
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if rec.delay_s:
                threading.Event().wait(rec.delay_s)
            code = rec.answer()
            with rec.lock:
                rec.attempts.append(
                    {"at": at, "body": json.loads(raw), "headers": headers, "code": code}
                )
                if 200 <= code < 300:
                    rec.bodies.append(json.loads(raw))
                    rec.headers.append(headers)
            if 200 <= code < 300:
                rec.got_one.set()
            return code

        def log_message(self, *args: Any) -> None:
            pass

    rec.server = _Server(("127.0.0.1", port), Handler)
    rec.server.daemon_threads = True
    thread = threading.Thread(target=rec.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


async def wait_for(predicate: Any, timeout: float = 20.0, every: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)
