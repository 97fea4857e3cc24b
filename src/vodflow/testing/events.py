"""Waiting for events: by PullEvents, or through an HTTP receiver of PUSH callbacks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vodflow.testing.calls import Caller


class EventTimeout(AssertionError):
    """The awaited event did not come in time; the message lists what did."""


def task_of(event: dict[str, Any]) -> dict[str, Any]:
    """The event's object that carries a TaskId (ProcedureStateChangeEvent, ...)."""
    for value in event.values():
        if isinstance(value, dict) and "TaskId" in value:
            return value
    return {}


def matches(
    event: dict[str, Any], task_id: str | None, status: str | None, event_type: str | None
) -> bool:
    if event_type is not None and event.get("EventType") != event_type:
        return False
    task = task_of(event)
    if task_id is not None and task.get("TaskId") != task_id:
        return False
    return status is None or task.get("Status") == status


def _summary(events: list[dict[str, Any]]) -> str:
    rows = [
        f"{e.get('EventType')} {task_of(e).get('TaskId')} {task_of(e).get('Status')}"
        for e in events[-20:]
    ]
    return "; ".join(rows) or "no events"


class PullWaiter:
    """Reads an application's events by PullEvents and confirms them (ConfirmEvents).

    Everything read is kept in `seen`, so events read while waiting for another stay
    available to later `wait_for` calls. Do not use it where the code under test pulls
    the same application's events: both would take from one queue.
    """

    def __init__(self, app: Caller, confirm: bool = True) -> None:
        self.app = app
        self.confirm = confirm
        self.seen: list[dict[str, Any]] = []

    def pull_once(self) -> list[dict[str, Any]]:
        got = list(self.app.call("PullEvents").get("EventSet") or [])
        if got and self.confirm:
            handles = [e["EventHandle"] for e in got]
            self.app.call("ConfirmEvents", {"EventHandles": handles})
        self.seen.extend(got)
        return got

    def wait_for(
        self,
        task_id: str | None = None,
        status: str | None = "FINISH",
        timeout: float = 120.0,
        event_type: str | None = None,
    ) -> dict[str, Any]:
        """The first event of `task_id` (any task when None) in `status`."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.seen:
                if matches(event, task_id, status, event_type):
                    return event
            if time.monotonic() > deadline:
                raise EventTimeout(
                    f"no {event_type or 'event'} of {task_id} in {status} after {timeout} s; "
                    f"seen: {_summary(self.seen)}"
                )
            self.pull_once()  # a long poll: returns as soon as an event is committed


@dataclass
class Delivery:
    """One POST the receiver got."""

    body: bytes
    headers: dict[str, str]
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class PushReceiver:
    """A real HTTP server on loopback that records PUSH callbacks.

    It answers `answer` (200; set 503 to play an outage) and, with a `sign_key`, checks
    each body's Sign and T (`vodflow.receiver.verify`) and answers 401 when they are
    wrong. `deliveries` keeps every POST, accepted or not.
    """

    sign_key: str = ""
    answer: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> PushReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code = receiver._judge(body)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._cond:
                    receiver.deliveries.append(Delivery(body, dict(self.headers.items()), code))
                    receiver._cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _judge(self, body: bytes) -> int:
        if self.answer >= 300:
            return self.answer
        if self.sign_key:
            from vodflow.receiver import InvalidCallback, verify

            try:
                verify(body, self.sign_key)
            except InvalidCallback:
                return 401
        return self.answer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/callback"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The events of the deliveries answered 2xx."""
        with self._cond:
            return [d.event for d in self.deliveries if 200 <= d.answered < 300]

    def wait_for(
        self,
        task_id: str | None = None,
        status: str | None = "FINISH",
        timeout: float = 120.0,
        event_type: str | None = None,
    ) -> dict[str, Any]:
        """The first accepted delivery of `task_id` in `status`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for d in self.deliveries:
                    if 200 <= d.answered < 300 and matches(d.event, task_id, status, event_type):
                        return d.event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [d.event for d in self.deliveries]
                    raise EventTimeout(
                        f"no delivery of {task_id} in {status} after {timeout} s; "
                        f"got: {_summary(got)}"
                    )
                self._cond.wait(remaining)
