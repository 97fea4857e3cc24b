"""A lean HTTP/1.1 client for callbacks: keep-alive connections per origin, h11 for the protocol.

Why not httpx, which vodflow uses elsewhere: the push relay runs on the API's event
loop, and httpx spends about 1 ms of CPU on each POST there (its request model, its
pool scan, anyio); h11 driven directly over asyncio streams spends about 0.2 ms. At
hundreds of callbacks a second that is the difference between a relay that keeps up
and one that delays every other request of the process.

It also closes a gap of a general client: every connection goes to an address that
was resolved *and checked* here (`check_address`), so a DNS answer cannot change
between the private-address check and the connect (DNS rebinding).

Scope, on purpose: one request shape (a body with a known length), no redirects, no
proxies, no compression; the answer's status and first bytes are what a delivery
record keeps. A reused keep-alive connection that the receiver has closed meanwhile
is retried once on a fresh connection, before any byte of an answer was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlsplit

import h11

READ_CHUNK: Final = 65536
MAX_DRAIN: Final = 64 * 1024
"""Body bytes read to keep a connection; a longer answer closes it instead."""
IDLE_S: Final = 30.0
"""An idle connection older than this is closed rather than reused."""

AddressCheck = Callable[[str], Awaitable[bool]]


def request_target(url: str) -> str:
    """The path and query of `url` as an HTTP request target, non-ASCII percent-encoded."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return quote(target, safe="!#$%&'()*+,/:;=?@[]~")


class RequestError(Exception):
    """The request got no complete answer: connect, TLS, protocol or a closed connection."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    head: bytes
    """The first bytes of the body (up to the caller's limit)."""


class _Conn:
    __slots__ = ("idle_since", "proto", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.proto = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def usable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < IDLE_S
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _StaleConnection(Exception):
    """A reused connection closed before answering: safe to try once more."""


class OriginPool:
    """Connections to one origin (scheme, host, port); at most `size` kept idle.

    How many are open at once is the caller's business (the relay caps requests
    per URL); the pool only keeps what it can reuse.
    """

    def __init__(
        self,
        url_scheme: str,
        host: str,
        port: int,
        *,
        size: int,
        check_address: AddressCheck | None = None,
        tls: ssl.SSLContext | None = None,
        user_agent: str = "vodflow",
    ) -> None:
        self.host = host
        self.port = port
        with contextlib.suppress(UnicodeError):  # an internationalised name, as DNS knows it
            host = host.encode("idna").decode("ascii")
        self.size = size
        self.check_address = check_address
        self.tls = (tls or ssl.create_default_context()) if url_scheme == "https" else None
        default_port = 443 if url_scheme == "https" else 80
        self.host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host:  # an IPv6 literal goes back into brackets
            self.host_header = f"[{host}]" + ("" if port == default_port else f":{port}")
        self.user_agent = user_agent
        self._idle: list[_Conn] = []

    async def post(
        self, target: str, headers: Sequence[tuple[str, str]], body: bytes, head_limit: int
    ) -> Answer:
        """POST `body` to `target` (path and query) and return the status and first bytes.

        Raises RequestError when no complete answer came; the caller bounds the
        time (asyncio.timeout), and a cancelled request closes its connection.
        """
        try:
            request = h11.Request(
                method="POST",
                target=target,
                headers=[
                    ("Host", self.host_header),
                    ("User-Agent", self.user_agent),
                    *headers,
                    ("Content-Length", str(len(body))),
                ],
            )
        except (h11.LocalProtocolError, UnicodeError) as exc:  # nothing was sent
            raise RequestError(f"LocalProtocolError: cannot send this request: {exc}") from None
        conn = self._take_idle()
        if conn is not None:
            try:
                return await self._exchange(conn, request, body, head_limit)
            except _StaleConnection:
                pass  # the receiver closed it while idle: once more on a new one
        conn = await self._connect()
        try:
            return await self._exchange(conn, request, body, head_limit)
        except _StaleConnection:
            raise RequestError(
                "RemoteProtocolError: the receiver closed the connection without answering"
            ) from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # ------------------------------------------------------------ connections

    def _take_idle(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _give_back(self, conn: _Conn) -> None:
        if len(self._idle) >= self.size:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise RequestError(f"ConnectError: cannot resolve {self.host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if self.check_address is not None:
            for address in addresses:
                if not await self.check_address(address):
                    raise RequestError("refused: the URL resolves to a private or loopback address")
        error: Exception = OSError(f"{self.host} resolves to no address")
        for address in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    address,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                )
            except OSError as exc:  # ssl.SSLError is an OSError too
                error = exc
                continue
            return _Conn(reader, writer)
        raise RequestError(
            f"ConnectError: cannot connect to {self.host}:{self.port}: {error}"
        ) from None

    # ------------------------------------------------------------ one exchange

    async def _exchange(
        self, conn: _Conn, request: h11.Request, body: bytes, head_limit: int
    ) -> Answer:
        received = False  # any byte of an answer
        try:
            proto = conn.proto
            data = proto.send(request) or b""
            data += proto.send(h11.Data(data=body)) or b""
            data += proto.send(h11.EndOfMessage()) or b""
            conn.writer.write(data)
            await conn.writer.drain()
            status = 0
            head = bytearray()
            read = 0
            while True:
                event = proto.next_event()
                if event is h11.NEED_DATA:
                    chunk = await conn.reader.read(READ_CHUNK)
                    received = received or bool(chunk)
                    proto.receive_data(chunk)
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    read += len(event.data)
                    if len(head) < head_limit:
                        head += event.data[: head_limit - len(head)]
                    if read > MAX_DRAIN:  # not worth reading on to reuse it
                        conn.close()
                        return Answer(status, bytes(head))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise h11.RemoteProtocolError("connection closed")
        except (OSError, h11.ProtocolError) as exc:
            conn.close()
            if not received:
                raise _StaleConnection from None
            raise RequestError(f"{type(exc).__name__}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        if proto.our_state is h11.DONE and proto.their_state is h11.DONE:
            proto.start_next_cycle()
            self._give_back(conn)
        else:
            conn.close()
        return Answer(status, bytes(head))
