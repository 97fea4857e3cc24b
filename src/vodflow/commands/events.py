"""`vodflow events pull` (a reliable-callback consumer) and `vodflow events receive`
(a reference normal-callback receiver that checks Sign and T and prints events)."""

from __future__ import annotations

import errno
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vodflow.commands.output import err, fail, out, typer_app
from vodflow.commands.tasks import (
    CA_BUNDLE,
    DATA_DIR,
    ENDPOINT,
    SECRET_ID,
    SECRET_KEY,
    SUB_APP,
    api,
)
from vodflow.receiver import InvalidCallback, verify

if TYPE_CHECKING:
    from rich.console import Console

    from vodflow.client import ClientError, VodApi

events_app = typer_app(
    help="Event notifications: pull them, or receive them.", no_args_is_help=True
)

MAX_CALLBACK_BYTES = 4 * 1024 * 1024


def _summary(event: dict[str, Any]) -> str:
    kind = event.get("EventType", "?")
    body = next((v for k, v in event.items() if k.endswith("Event") and isinstance(v, dict)), {})
    bits = [kind]
    for key in ("TaskId", "FileId", "Status", "ErrCode"):
        if key in body:
            bits.append(f"{key}={body[key]}")
    return " ".join(bits)


def _emit(event: dict[str, Any], json_out: bool, console: Console) -> None:
    if json_out:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        console.print(_summary(event), highlight=False)


# Errors of the network or of a server going away (or restarting): `--follow` waits
# and tries again instead of exiting. Anything else (credentials, parameters) is final.
TRANSIENT_CODES = {"ClientNetworkError", "ServerNetworkError", "InternalError"}
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


def _transient(exc: ClientError) -> bool:
    return exc.code in TRANSIENT_CODES or exc.code.startswith("RequestLimitExceeded")  # .X too


def _call_retrying(client: VodApi, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """`client.call`, retried with a short capped backoff while the error is transient."""
    from vodflow.client import ClientError

    failures = 0
    while True:
        try:
            return client.call(action, params)
        except ClientError as exc:
            if not _transient(exc):
                raise
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            err().print(
                f"[yellow]{action} failed[/] ({exc.code}: {exc.message[:200]}); "
                f"retrying in {delay:g} s"
            )
            time.sleep(delay)


def _confirm(client: VodApi, base: dict[str, Any], handles: list[str], follow: bool) -> None:
    from vodflow.client import ClientError

    params = {**base, "EventHandles": handles}
    if not follow:
        client.call("ConfirmEvents", params)
        return
    try:
        _call_retrying(client, "ConfirmEvents", params)
    except ClientError as exc:
        if exc.code != "InvalidParameterValue":
            raise
        # Handles that ran past their window while the server was away: those events
        # come back to PullEvents and are printed again (delivery is at least once).
        err().print(f"[yellow]ConfirmEvents[/]: {exc.message}")


@events_app.command()
def pull(
    follow: bool = typer.Option(False, "--follow", help="Keep pulling until interrupted."),
    confirm: bool = typer.Option(False, "--confirm", help="ConfirmEvents after printing."),
    json_out: bool = typer.Option(False, "--json", help="One JSON event per line."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """PullEvents (long poll, up to 16 at a time); print them; optionally confirm.

    Without --confirm the events come back after their 30 s window: use it to look.
    With --confirm, an event is confirmed only after it has been printed (at least once).
    With --follow, network errors and server restarts are waited out (retried after
    0.5 s, 1 s, 2 s, then every 5 s) instead of ending the command.
    """
    from vodflow.client import ClientError

    client = api(endpoint, secret_id, secret_key, data_dir, ca_bundle)
    console = out()
    base: dict[str, Any] = {"SubAppId": sub_app_id} if sub_app_id else {}
    try:
        while True:
            if follow:
                answer = _call_retrying(client, "PullEvents", dict(base))
            else:
                answer = client.call("PullEvents", dict(base))
            got = answer.get("EventSet") or []
            for event in got:
                _emit(event, json_out, console)
            if confirm and got:
                _confirm(client, base, [e["EventHandle"] for e in got], follow)
            if not follow:
                return
    except ClientError as exc:
        fail(f"{exc.code}: {exc.message}", 1)
    except KeyboardInterrupt:
        return


class _Server(ThreadingHTTPServer):
    # vodflow opens up to 16 connections at once per URL; the default backlog is 5.
    request_queue_size = 128
    daemon_threads = True


def make_receiver(host: str, port: int, sign_key: str, json_out: bool) -> ThreadingHTTPServer:
    console = out()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, code: int, text: str) -> None:
            payload = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = self.headers.get("content-length", "")
            if not length.isdigit() or int(length) > MAX_CALLBACK_BYTES:
                self._answer(413, "body missing or too large\n")
                return
            raw = self.rfile.read(int(length))
            try:
                event = verify(raw, sign_key)
            except InvalidCallback as exc:
                err().print(f"[red]refused[/]: {exc}")
                self._answer(401, f"{exc}\n")
                return
            _emit(event, json_out, console)
            self._answer(200, "ok\n")

        def log_message(self, *args: Any) -> None:
            pass

    return _Server((host, port), Handler)


@events_app.command()
def receive(
    port: int = typer.Option(..., min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on.", show_default=True),
    sign_key: str = typer.Option("", help="The application's SignKey: check Sign and T."),
    json_out: bool = typer.Option(False, "--json", help="One JSON event per line."),
) -> None:
    """A reference NotificationUrl: verifies Sign and T, prints each event, answers 200."""
    try:
        server = make_receiver(host, port, sign_key, json_out)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is already in use: pick another --port.", 1)
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}.", 1)
    err().print(f"receiving events on http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
