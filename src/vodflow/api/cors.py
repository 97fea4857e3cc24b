"""CORS for the endpoints a web page calls directly: the UGC upload API and COS.

A page on the app's own origin uploads with vod-js-sdk-v6: a JSON POST to
`/v3/index.php` and signed PUT/POST requests to the object endpoint, all
cross-origin, so the browser sends a preflight first and reads ETag from the
answers (multipart uploads need it). These requests are authorised by the
signatures they carry, never by cookies, so any origin may make them
(`Access-Control-Allow-Origin: *`, no credentials). The VOD API itself (`/`) is
left without CORS: a browser has no business holding a SecretKey.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = b"GET, HEAD, PUT, POST, DELETE"
EXPOSE = b"ETag, Content-Length, Location, x-cos-request-id, x-amz-request-id, x-amz-version-id"
MAX_AGE = b"600"
_OBJECT_PATH = re.compile(r"^/(?:[a-z0-9][a-z0-9-]{0,62}-\d{1,20}/)?upload/")
_HEADER_LIST = re.compile(rb"^[A-Za-z0-9\-_, ]{0,2000}$")


def applies(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path == "/v3/index.php" or _OBJECT_PATH.match(path):
        return True
    return path == "/" and b"uploads" in scope.get("query_string", b"")


class CorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not applies(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"origin" not in headers:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await _preflight(headers, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", EXPOSE),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _preflight(headers: dict[bytes, bytes], send: Send) -> None:
    wanted = headers.get(b"access-control-request-headers", b"")
    allow = wanted if _HEADER_LIST.match(wanted) else b""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-allow-headers", allow),
                (b"access-control-expose-headers", EXPOSE),
                (b"access-control-max-age", MAX_AGE),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
