"""Idle and half-sent connections against a real `vodflow serve` with a small fd limit
(issue 12 item 15): they are closed, the server keeps answering, the log stays short."""

from __future__ import annotations

import asyncio
import logging
import resource
import selectors
import socket
import time
from pathlib import Path

import pytest

from tests.servers import ServerProcess
from vodflow import http_guard

FD_LIMIT = 256
IDLE = 150
HALF_SENT = 150


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _wait_all_closed(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Wait until the server closed every socket; the ones still open at the deadline."""
    open_ = set(socks)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while open_ and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if data == b"":
                open_.discard(s)
                sel.unregister(s)
    sel.close()
    return list(open_)


@pytest.mark.slow
def test_idle_and_half_sent_connections_are_closed(tmp_path: Path) -> None:
    srv = ServerProcess(
        tmp_path / "d",
        env={"VODFLOW_HEADER_TIMEOUT_S": "2", "VODFLOW_KEEP_ALIVE_S": "1"},
        preexec=_low_fd_limit,
    )
    srv.start()
    socks: list[socket.socket] = []
    try:
        for i in range(IDLE + HALF_SENT):
            s = socket.create_connection(("127.0.0.1", srv.port))
            if i >= IDLE:  # slowloris: a request head that never ends
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            socks.append(s)
        still_open = _wait_all_closed(socks, timeout=60)
        assert still_open == [], f"{len(still_open)} connections never closed by the server"
        # The server still answers, and more than once (no descriptor leaked).
        for _ in range(3):
            assert srv.call("DescribeEventConfig", {})["Mode"] in ("PUSH", "PULL")
        assert srv.proc is not None and srv.proc.poll() is None
    finally:
        for s in socks:
            s.close()
        srv.stop()
    log = srv.log_path.read_text(errors="replace") if srv.log_path else ""
    assert log.count("Too many open files") <= 3
    assert len(log.splitlines()) < 60, log[-3000:]


def test_accept_errors_are_logged_at_most_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """asyncio reports a failed accept() up to `backlog` times per wake-up; vodflow
    logs one line for a burst, and says how many it stood for in the next one."""

    async def burst() -> None:
        loop = asyncio.get_running_loop()
        http_guard.quiet_accept_errors(loop)
        for _ in range(5000):
            loop.call_exception_handler(
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(24, "Too many open files"),
                }
            )
        loop.call_exception_handler({"message": "something else"})

    with caplog.at_level(logging.WARNING):
        asyncio.run(burst())
    accept = [r for r in caplog.records if "accept() failed" in r.getMessage()]
    assert len(accept) == 1
    assert "Too many open files" in accept[0].getMessage()
    assert any(r.getMessage() == "something else" for r in caplog.records)
