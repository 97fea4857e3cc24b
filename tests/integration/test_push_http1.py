"""The push relay's HTTP/1.1 client on real sockets: reuse, stale connections, TLS, refusals."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.tlsutil import make_ca_and_server_cert
from vodflow.notify.http1 import MAX_DRAIN, OriginPool, RequestError, request_target

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def tcp_server(
    handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[int, list[int]]]:
    """A loopback server; yields its port and a list that counts accepted connections."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, accepted


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head and body (Content-Length framed); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def answer(status: int, body: bytes, *, close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n%s" % (status, len(body), extra, body)


async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while (req := await read_request(reader)) is not None:
        writer.write(answer(200, b"ok:" + req.split(b"\r\n\r\n", 1)[1]))
        await writer.drain()


async def test_keep_alive_reuses_one_connection() -> None:
    async with tcp_server(keep_alive) as (port, accepted):
        pool = OriginPool("http", "127.0.0.1", port, size=4)
        for i in range(20):
            got = await pool.post("/cb?x=1", [("Content-Type", "application/json")], b"%d" % i, 64)
            assert (got.status, got.head) == (200, b"ok:%d" % i)
        await pool.aclose()
    assert len(accepted) == 1


async def test_a_connection_the_receiver_closed_while_idle_is_replaced() -> None:
    # Answers one request per connection, without announcing the close.
    async def one_shot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is not None:
            writer.write(answer(204, b""))
            await writer.drain()

    async with tcp_server(one_shot) as (port, accepted):
        pool = OriginPool("http", "127.0.0.1", port, size=4)
        for _ in range(5):
            assert (await pool.post("/", [], b"{}", 64)).status == 204
        await pool.aclose()
    assert len(accepted) == 5


async def test_connection_close_and_long_answers_are_not_reused() -> None:
    big = b"x" * (MAX_DRAIN + 10)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is not None:
            writer.write(answer(200, big))
            await writer.drain()
            await asyncio.sleep(5)  # would hang a client that waits for the whole body

    async with tcp_server(handler) as (port, accepted):
        pool = OriginPool("http", "127.0.0.1", port, size=4)
        got = await asyncio.wait_for(pool.post("/", [], b"{}", 16), 3)
        assert (got.status, got.head) == (200, b"x" * 16)
        got = await asyncio.wait_for(pool.post("/", [], b"{}", 16), 3)
        assert got.status == 200
        await pool.aclose()
    assert len(accepted) == 2


@pytest.mark.parametrize(
    "reply",
    [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b""],
    ids=["not-http", "truncated-body", "closed-at-once"],
)
async def test_broken_answers_are_request_errors(reply: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is not None:
            writer.write(reply)
            await writer.drain()

    async with tcp_server(handler) as (port, _):
        pool = OriginPool("http", "127.0.0.1", port, size=4)
        with pytest.raises(RequestError):
            await asyncio.wait_for(pool.post("/", [], b"{}", 64), 5)
        await pool.aclose()


async def test_refused_addresses_are_never_connected() -> None:
    async with tcp_server(keep_alive) as (port, accepted):
        checked: list[str] = []

        async def deny(address: str) -> bool:
            checked.append(address)
            return False

        pool = OriginPool("http", "localhost", port, size=4, check_address=deny)
        with pytest.raises(RequestError, match="private or loopback"):
            await pool.post("/", [], b"{}", 64)
    assert checked and accepted == []


async def test_https_with_a_trusted_ca(tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    async with tcp_server(keep_alive, tls=server_tls) as (port, _):
        untrusting = OriginPool("https", "127.0.0.1", port, size=2)
        with pytest.raises(RequestError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.post("/", [], b"{}", 64)
        trusting = OriginPool(
            "https", "127.0.0.1", port, size=2, tls=ssl.create_default_context(cafile=str(ca))
        )
        got = await trusting.post("/", [], b"{}", 64)
        assert (got.status, got.head) == (200, b"ok:{}")
        await trusting.aclose()


def test_request_targets_are_ascii() -> None:
    assert request_target("http://h/cb") == "/cb"
    assert request_target("http://h") == "/"
    assert request_target("http://h/a%20b/回调?x=1&y=é") == "/a%20b/%E5%9B%9E%E8%B0%83?x=1&y=%C3%A9"


async def test_an_unsendable_request_is_a_request_error() -> None:
    async with tcp_server(keep_alive) as (port, accepted):
        pool = OriginPool("http", "127.0.0.1", port, size=4)
        with pytest.raises(RequestError, match="LocalProtocolError"):
            await pool.post("/回调", [], b"{}", 64)
        with pytest.raises(RequestError, match="LocalProtocolError"):
            await pool.post("/", [("X-Bad", "line\r\nbreak")], b"{}", 64)
    assert accepted == []
