"""Connection hygiene for `vodflow serve`: header timeout, connection cap, quiet accept errors.

uvicorn (h11, asyncio) times out only idle keep-alive connections *after* a
response: a client that connects and sends nothing, or sends half a request head
(slowloris), holds its socket forever. With a small file-descriptor limit a few
hundred such sockets stop the server, and asyncio then logs every failed
`accept()` (up to `backlog` times per wake-up, each with a traceback).

- `GuardedH11Protocol` closes a connection whose request head is not complete
  `header_timeout_s` after the connection opened or after the first byte of a
  later request on it (the timer is not reset by trickled bytes), and refuses
  connections over `max_connections` at once (accept, close), before they cost
  more than a moment's descriptor.
- `connection_cap` keeps that cap below the process's descriptor limit (raising
  the soft limit to the hard one first), so accepting never runs out of them.
- `quiet_accept_errors` replaces the event loop's exception handler so that
  "socket.accept() out of system resource" is logged at most once per
  `ACCEPT_LOG_EVERY_S`, with the number of repeats it stood for.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("vodflow.http")

ACCEPT_LOG_EVERY_S = 10.0
FD_RESERVE = 128
"""Descriptors kept for everything but client connections (database, blobs, FFmpeg)."""


class GuardedH11Protocol(H11Protocol):
    header_timeout_s: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 1000
    _refused_log: ClassVar[RateLimitedLog | None] = None

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            cls = type(self)
            if cls._refused_log is None:
                cls._refused_log = RateLimitedLog(log, ACCEPT_LOG_EVERY_S)
            cls._refused_log.warning(
                "connection refused: %d connections open (the cap)", self.max_connections
            )
            transport.abort()
            return
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel_header_timer()
        elif self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # a head under way (or not begun): bounded in time
        else:
            self._cancel_header_timer()  # the head is complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.cycle is not None and not self.cycle.response_complete:
                return  # still answering the previous request: its keep-alive rules apply
            self.transport.abort()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn should use, with these limits."""
    return type(
        "VodflowH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "max_connections": max_connections},
    )


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered to fit under the descriptor limit (soft raised to hard first)."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY:
            fit = max(8, soft - FD_RESERVE if soft > 2 * FD_RESERVE else soft // 2)
            if fit < wanted:
                log.warning(
                    "connection cap lowered to %d to fit the descriptor limit %d", fit, soft
                )
                return fit
    return wanted


class RateLimitedLog:
    """At most one record per `every_s`; the next one says how many were left out."""

    def __init__(self, logger: logging.Logger, every_s: float) -> None:
        self.logger = logger
        self.every_s = every_s
        self._last = -float("inf")
        self._dropped = 0

    def warning(self, msg: str, *args: Any, exc_info: Any = None) -> bool:
        t = time.monotonic()
        if t - self._last < self.every_s:
            self._dropped += 1
            return False
        if self._dropped:
            msg += f" ({self._dropped} more like it in the last {self.every_s:.0f} s not logged)"
        self._last, self._dropped = t, 0
        self.logger.warning(msg, *args, exc_info=exc_info)
        return True


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Rate-limit the event loop's "accept() out of system resource" reports (EMFILE...)."""
    limited = RateLimitedLog(log, ACCEPT_LOG_EVERY_S)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if message.startswith("socket.accept() out of system resource"):
            exc = context.get("exception")
            limited.warning("accept() failed: %s; retrying", exc)
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


class GuardedServer(uvicorn.Server):
    """uvicorn's server with the accept-error reports rate-limited, and the objects of
    start-up kept out of the garbage collector's full collections."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        quiet_accept_errors(asyncio.get_running_loop())
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What start-up made (modules, SQLAlchemy's metadata, pydantic's validators,
        # the services) lives as long as the process. A full collection traverses
        # every tracked object: with 10,000 held PullEvents they took 0.7-1.0 s each
        # (measured), stalling every request, and found nothing to free. Frozen
        # objects are never traversed again; the garbage of requests still is.
        gc.collect()
        gc.freeze()


class DrainingServer(GuardedServer):
    """On the first SIGTERM, answer /healthz 503 for `drain_s` (still serving), then stop."""

    def __init__(self, config: uvicorn.Config, app: Starlette, drain_s: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.drain_s > 0 and not self._draining:
            self._draining = True
            self.app.state.draining = True
            timer = threading.Timer(self.drain_s, super().handle_exit, (sig, frame))
            timer.daemon = True
            timer.start()
            return
        super().handle_exit(sig, frame)
