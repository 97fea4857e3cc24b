"""PullUpload's fetch against real loopback servers: DNS rebinding and port-scan answers."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from vodflow import net_policy
from vodflow.blobstore import BlobStore
from vodflow.core.pull_upload import FetchError, fetch


class _Counting(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b"secret internal page"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def private_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on loopback (a private target) that records what reached it."""
    hits: ClassVar[list[str]] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


def _services(tmp_path: Path, allow_private: bool = False) -> Any:
    return SimpleNamespace(allow_private=allow_private, blobs=BlobStore(tmp_path / "blobs"))


def _fetch_error(services: Any, url: str) -> FetchError:
    dest = services.blobs.temp_path()
    with pytest.raises(FetchError) as info:
        asyncio.run(fetch(url, 1024 * 1024, dest=dest, allow_private=services.allow_private))
    return info.value


def test_dns_rebinding_cannot_reach_a_private_address(
    tmp_path: Path, private_server: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address to the check, then loopback: only the checked
    address is ever connected to, so the private server sees nothing."""
    port, hits = private_server
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        host = host.decode() if isinstance(host, bytes) else host  # anyio passes bytes
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) == 1:  # public (unroutable here: no IPv6 route)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700:4700::1111", port, 0, 0))
            ]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    error = _fetch_error(_services(tmp_path), f"http://rebind.test:{port}/clip.mp4")
    assert hits == []  # nothing reached the private server
    assert lookups == ["rebind.test"]  # resolved once, connected to what was checked
    assert "HTTP" not in error.message
    assert not list((tmp_path / "blobs" / ".tmp").iterdir())


def test_private_targets_answer_one_message_whatever_listens(
    tmp_path: Path, private_server: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No port scanning through PullUpload: an open port, a closed port, a name that
    resolves there and an IPv6 spelling of loopback all answer the same, unconnected."""
    port, hits = private_server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("inside.test", b"inside.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    services = _services(tmp_path)
    messages = {
        _fetch_error(services, url).message
        for url in (
            f"http://127.0.0.1:{port}/x.mp4",
            f"http://127.0.0.1:{closed}/x.mp4",
            f"http://inside.test:{port}/x.mp4",
            f"http://[::ffff:127.0.0.1]:{port}/x.mp4",
            f"http://[64:ff9b::7f00:1]:{port}/x.mp4",
            f"http://[2002:7f00:1::]:{port}/x.mp4",
        )
    }
    assert messages == {net_policy.REFUSED_MESSAGE}
    assert hits == []
    # The operator's switch still allows private sources, and then the answer is told.
    error = _fetch_error(_services(tmp_path, allow_private=True), f"http://127.0.0.1:{port}/x.mp4")
    assert error.message == "The URL answered HTTP 404."
    assert hits == ["/x.mp4"]
