"""The API route: `POST /` (JSON) and `GET /?...` (form), Tencent Cloud API 3.0.

One request: read the bounded body, verify the TC3 signature, find the action,
apply the rate limit, validate parameters into the action's model, resolve the
application, call the handler, wrap the answer in the envelope. Every failure is
an HTTP 200 envelope with a Tencent error code; nothing leaks a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy import text
from starlette.datastructures import State
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from vodflow import ids, metrics
from vodflow.api import auth, auth_v1, envelope, params
from vodflow.api.registry import ACTIONS, Context
from vodflow.api.replay import ReplayCache, guarded
from vodflow.core import faults
from vodflow.core.credentials import Credential
from vodflow.errors import VodError
from vodflow.wire.common import WireModel

if TYPE_CHECKING:
    from vodflow.services import Services

log = logging.getLogger("vodflow.api")

API_VERSION = "2018-07-17"
# Methods routed to `/`; all but GET and POST answer UnsupportedProtocol in the envelope.
API_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
# Tencent: a GET request is at most 32 KB.
MAX_QUERY_BYTES = 32 * 1024


_TOO_BIG = "The request body is larger than the {} bytes vodflow accepts."


async def receive_body(receive: Receive, declared: str, limit: int) -> bytes:
    """The body from ASGI `receive`, refusing more than `limit` bytes (by the declared
    Content-Length at once, else as they arrive) without buffering the excess."""
    if declared.isdigit() and int(declared) > limit:
        raise VodError("RequestSizeLimitExceeded", _TOO_BIG.format(limit))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise VodError("RequestSizeLimitExceeded", _TOO_BIG.format(limit))
        if not message.get("more_body", False):
            if not chunks:
                return chunk  # the whole body in one message: the usual case
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


async def read_body(request: Request, limit: int) -> bytes:
    """The body of a Starlette request not yet read, bounded as `receive_body`."""
    return await receive_body(request.receive, request.headers.get("content-length", ""), limit)


class _Call:
    """What one API request's accounting needs to know, filled in as it is learnt."""

    __slots__ = ("action",)

    def __init__(self, action: str) -> None:
        self.action = action


async def api_endpoint(request: Request) -> Response:
    """The API through Starlette's routing: GET, and the methods it refuses."""
    scope = request.scope
    content = await answer(
        request.app.state,
        request.method,
        scope["path"],
        scope["query_string"],
        _headers(scope),
        lambda limit: read_body(request, limit),
    )
    if content is None:
        return Response(status_code=499)
    return Response(content, media_type="application/json")


async def api_asgi(state: State, scope: Scope, receive: Receive, send: Send) -> None:
    """`POST /` straight from the HTTP server: the API's busiest way in, answered by the
    same `answer` without Starlette's routing and Request/Response objects (they cost
    more than a cheap action itself)."""
    headers = _headers(scope)

    def body(limit: int) -> Awaitable[bytes]:
        return receive_body(receive, headers.get("content-length", ""), limit)

    content = await answer(state, "POST", scope["path"], scope["query_string"], headers, body)
    if content is None:  # the client went away: nobody reads this
        status, content, head = 499, b"", [(b"content-length", b"0")]
    else:
        length = str(len(content)).encode()
        status, head = 200, [(b"content-length", length), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": content})


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the last of a repeated one), as text."""
    headers = {}
    for name, value in scope["headers"]:  # a loop: cheaper than a comprehension's frame
        headers[name.decode("latin-1").lower()] = value.decode("latin-1")
    return headers


async def answer(
    state: State,
    method: str,
    path: str,
    query_string: bytes,
    headers: dict[str, str],
    read: Callable[[int], Awaitable[bytes]],
) -> bytes | None:
    """The envelope of one API request (None: the client went away). `headers` have
    lower-case names; `read(limit)` reads the body, refusing more than `limit` bytes."""
    request_id = ids.request_id()
    call = _Call(headers.get("x-tc-action", ""))
    started, code = time.monotonic(), "OK"
    try:
        payload = await _handle(state, call, method, path, query_string, headers, read, request_id)
        return envelope.ok_body(payload, request_id)
    except VodError as exc:
        code = exc.code
        return envelope.error_body(exc.code, exc.message, request_id)
    except ClientDisconnect:
        code = "ClientDisconnect"
        return None
    except Exception:
        code = "InternalError"
        log.exception("InternalError in %s (RequestId %s)", call.action[:64], request_id)
        return envelope.error_body(
            "InternalError",
            f"An internal error occurred; quote RequestId {request_id} when reporting it.",
            request_id,
        )
    finally:
        known = call.action if call.action in ACTIONS else metrics.UNKNOWN_ACTION
        metrics.observe_request(known, code, time.monotonic() - started)


async def _handle(
    state: State,
    call: _Call,
    method: str,
    path: str,
    query_string: bytes,
    headers: dict[str, str],
    read: Callable[[int], Awaitable[bytes]],
    request_id: str,
) -> dict[str, Any] | envelope.RawPayload:
    services: Services = state.services
    if method not in ("GET", "HEAD", "POST"):
        raise VodError(
            "UnsupportedProtocol",
            f"The API takes POST (JSON body) or GET (query string), not {method[:16]}.",
        )
    if len(query_string) > MAX_QUERY_BYTES:
        raise VodError(
            "RequestSizeLimitExceeded",
            f"The query string is larger than the {MAX_QUERY_BYTES} bytes a GET request may carry.",
        )
    body = await read(services.settings.max_body_bytes)
    query = query_string.decode("latin-1")
    signed = auth.SignedRequest(method=method, path=path, query=query, headers=headers, body=body)
    v1 = None
    signature = None  # TC3's, remembered against replays (v1 carries a nonce instead)
    if auth_v1.applies(method, headers, query):
        # Signature v1: Action, Version and the rest travel as (signed) parameters.
        v1 = await auth_v1.verify(signed, services.credentials.lookup, time.time())
        credential, action_name, version = v1.credential, v1.action, v1.version
    else:
        credential, signature = await auth.verified(
            signed, services.credentials.lookup, time.time()
        )
        action_name = headers.get("x-tc-action", "")
        version = headers.get("x-tc-version", "")
    call.action = action_name
    if not action_name:
        raise VodError("MissingParameter", "The request is missing the X-TC-Action header.")
    if not version:
        raise VodError("MissingParameter", "The request is missing the X-TC-Version header.")
    if version != API_VERSION:
        # Tencent's common error code for an unknown API version.
        raise VodError(
            "NoSuchVersion",
            f"The specified api version=`{version[:32]}` does not exist in service=`vod`; "
            f"use {API_VERSION}.",
        )
    # A JSON body carries typed values and is validated strictly (wire.common); a GET
    # query or a signature v1 form carries only text, read as the types fields document.
    is_text = v1 is not None or method in ("GET", "HEAD")

    def raw() -> dict[str, Any]:  # parsed once the action is known and allowed
        if v1 is not None:
            return params.from_query(urlencode(v1.params))
        return params.from_query(query) if is_text else params.from_json(body)

    def refuse_replay(req: WireModel) -> None:
        if signature is not None:
            _refuse_replay(state, services, signature, headers, action_name, req)

    return await dispatch(
        services, credential, action_name, raw, request_id, strict=not is_text, check=refuse_replay
    )


async def dispatch(
    services: Services,
    credential: Credential,
    action_name: str,
    raw: dict[str, Any] | Callable[[], dict[str, Any]],
    request_id: str,
    *,
    strict: bool = True,
    check: Callable[[WireModel], None] | None = None,
    limit_key: str | None = None,
) -> dict[str, Any] | envelope.RawPayload:
    """Run one action for an authenticated credential: the API's and the console's path.

    Root-only actions, the rate limit, validation into the action's model, `check`
    (the API's replay guard), the application and the credential's scope, then the
    handler: one copy of every rule for both callers. The rate limit counts against
    `limit_key` (default: the SecretId), so a console session has a budget of its own.
    """
    act = ACTIONS.get(action_name)
    if act is None:
        raise VodError("InvalidAction", f"The action `{action_name[:64]}` does not exist.")
    if act.root_only and credential.token is not None:
        raise VodError(
            "UnauthorizedOperation",
            f"{action_name} needs the root credential; temporary credentials cannot call it.",
        )
    if not services.limiter.allow(limit_key or credential.secret_id, action_name):
        raise VodError(
            "RequestLimitExceeded", f"Too many {action_name} requests per second; slow down."
        )
    if callable(raw):
        raw = raw()
    try:
        # model_validate's own work, without its Python frame.
        req = act.model.__pydantic_validator__.validate_python(raw, strict=strict)
    except ValidationError as exc:
        raise envelope.from_validation(exc, act.model) from None
    if check is not None:
        check(req)

    sub_app_id = getattr(req, "SubAppId", None)
    app_id = await services.apps.resolve(sub_app_id, allow_disabled=act.allow_disabled_app)
    _in_scope(credential, app_id)
    if services.faults.enabled and not act.extension:
        await faults.api_error(services.faults, app_id, action_name)
    ctx = Context(services=services, request_id=request_id, credential=credential, app_id=app_id)
    result = await act.handler(ctx, req)
    return result.dump() if isinstance(result, WireModel) else result


async def resolve_app(
    services: Services, credential: Credential, sub_app_id: int | None, allow_disabled: bool
) -> int:
    """The application a call acts on, refused outside the credential's scope."""
    app_id = await services.apps.resolve(sub_app_id, allow_disabled=allow_disabled)
    _in_scope(credential, app_id)
    return app_id


def _in_scope(credential: Credential, app_id: int) -> None:
    if credential.app_id is not None and credential.app_id != app_id:
        raise VodError(
            "UnauthorizedOperation",
            f"This temporary credential is limited to application {credential.app_id}.",
        )


def _refuse_replay(
    state: State,
    services: Services,
    signature: str,
    headers: dict[str, str],
    action_name: str,
    req: WireModel,
) -> None:
    """Remember the request's TC3 signature; refuse a non-idempotent action signed by
    one first seen longer than the grace ago (api/replay.py)."""
    try:
        cache: ReplayCache = state.replay_cache
    except AttributeError:
        cache = state.replay_cache = ReplayCache()
    t = time.time()
    first = cache.first_seen(signature, int(headers.get("x-tc-timestamp", "0")), t)
    # SessionId from the fields: a model without it would take pydantic's slow miss path.
    if t - first > services.settings.replay_grace_s and guarded(
        action_name, req.__dict__.get("SessionId")
    ):
        raise VodError(
            "AuthFailure.SignatureExpire",
            "This signed request was already received (a replay); sign a new request "
            f"(with a new X-TC-Timestamp) to send {action_name} again.",
        )


async def healthz(request: Request) -> Response:
    """Readiness: 503 while starting and while draining (after SIGTERM, VODFLOW_DRAIN_S),
    else 200 only if the database answers, the LISTEN connection (PostgreSQL) is up
    and the broker (scaled) answers; `checks` names what failed."""
    state = request.app.state
    if getattr(state, "draining", False):
        return JSONResponse({"status": "draining"}, status_code=503)
    if not getattr(state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503)
    services: Services = state.services
    checks = {
        "database": await _check(_database_answers(services)),
        "listen": "ok" if getattr(services.events.wakeup, "listening", True) else "down",
        "broker": await _check(_broker_answers(services)),
    }
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


HEALTH_TIMEOUT_S = 3.0


async def _check(probe: Awaitable[None]) -> str:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            await probe
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


async def _database_answers(services: Services) -> None:
    async with services.db.read() as conn:
        await conn.execute(text("SELECT 1"))


async def _broker_answers(services: Services) -> None:
    check = getattr(services.executor, "check_broker", None)
    if check is not None:
        await check()
