"""TC3-HMAC-SHA256 verification, exactly as the official SDKs sign.

Reference: `tencentcloud/common/abstract_client.py` (`_build_req_with_tc3_signature`)
of the Python SDK and `common/sign.js` (`sign3`) of the Node.js SDK. The checks run
in the order that gives the most useful error: a garbled header first, then an
unknown SecretId, then the clock, then the signature itself; every error names the
part that did not match.

Two leniencies make every official SDK work at any `host:port` endpoint:

- The service in the credential scope is taken as the client wrote it. The Python
  SDK signs `vod`; the Node.js SDK signs the first dot-separated label of its
  endpoint (`127` for `127.0.0.1:8080`). The label still feeds the signing key and
  the string to sign, so the signature binds it; vodflow serves one service, so
  there is no other service a signature could be replayed against.
- The signed `host` may be the Host header with or without its port. The Node.js
  SDK signs the host name alone while sending `Host: 127.0.0.1:8080`. The port is
  not a secret and the signature still covers the method, path, query, content type,
  body, timestamp and credential; at most a request signed for one port of the same
  host is accepted on another, within the same 5-minute window.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from vodflow.core.credentials import Credential
from vodflow.errors import VodError

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "vod"
MAX_SKEW_S = 300

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<sid>[^/,\s]+)/(?P<date>[^/,\s]{1,32})/"
    r"(?P<service>[^/,\s]{1,64})/tc3_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*"
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)
_PORT_RE = re.compile(r"^(?P<name>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):\d{1,5}$")


def host_variants(host: str) -> list[str]:
    """The Host header, then the same without its port (what the Node.js SDK signs)."""
    match = _PORT_RE.match(host)
    return [host, match["name"]] if match else [host]


class SignedRequest(NamedTuple):
    """What a signature covers (a named tuple: one is made per API request)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str = SERVICE) -> bytes:
    return _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")


class _Signer:
    """HMAC-SHA256 (RFC 2104) under one key, its two padded key blocks hashed once:
    each signature then costs two hash copies, not a new HMAC object."""

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # a derived key: 32 bytes, within SHA-256's block
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, msg: bytes) -> str:
        inner = self.inner.copy()
        inner.update(msg)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


# The derived key changes once a day per credential: keep the few in use rather than
# chaining three HMACs on every request.
@functools.lru_cache(maxsize=1024)
def _signer(secret_key: str, date: str, service: str) -> _Signer:
    return _Signer(signing_key(secret_key, date, service))


@functools.lru_cache(maxsize=64)
def _utc_date(day: int) -> str:
    """The UTC date of a Unix day number (strftime costs microseconds per request)."""
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")


_UNSIGNED_PAYLOAD_HASH = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()


def string_to_sign(
    req: SignedRequest, signed_headers: Sequence[str], timestamp: str, date: str, service: str
) -> str:
    headers = req.headers
    canonical_headers = "".join([f"{h}:{headers.get(h, '').strip()}\n" for h in signed_headers])
    if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = _UNSIGNED_PAYLOAD_HASH
    else:
        payload_hash = hashlib.sha256(req.body).hexdigest()
    method = req.method
    query = req.query if method == "GET" else ""
    canonical = (
        f"{method}\n{req.path}\n{query}\n{canonical_headers}\n"
        f"{';'.join(signed_headers)}\n{payload_hash}"
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def sign(secret_key: str, req: SignedRequest, signed_headers: Sequence[str], timestamp: str) -> str:
    """The signature a client with `secret_key` computes (used by tests and the CLI)."""
    date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    key = signing_key(secret_key, date)
    msg = string_to_sign(req, signed_headers, timestamp, date, SERVICE)
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def _fail(code: str, message: str) -> VodError:
    return VodError(f"AuthFailure.{code}", message)


_SDK_SIGNED = ("content-type", "host")


def _parse(req: SignedRequest) -> tuple[re.Match[str], str, Sequence[str]]:
    """The Authorization header's parts and the timestamp, or the error naming what is wrong."""
    header = req.headers.get("authorization", "").strip()
    if not header:
        raise _fail(
            "InvalidAuthorization",
            "The Authorization header is missing; sign the request with TC3-HMAC-SHA256 "
            "(or signature v1: Signature, SecretId, Timestamp and Nonce parameters).",
        )
    match = _AUTH_RE.match(header)
    if match is None:
        raise _fail(
            "InvalidAuthorization",
            "The Authorization header is malformed; expected `TC3-HMAC-SHA256 "
            "Credential=<SecretId>/<date>/<service>/tc3_request, "
            "SignedHeaders=content-type;host, Signature=<64 hex digits>`.",
        )
    timestamp = req.headers.get("x-tc-timestamp", "")
    if not timestamp:
        raise _fail("InvalidAuthorization", "The X-TC-Timestamp header is missing.")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise _fail(
            "InvalidAuthorization",
            f"X-TC-Timestamp `{timestamp[:32]}` is not a Unix time in seconds.",
        )
    if match["signed"] == "content-type;host":  # what every official SDK signs
        return match, timestamp, _SDK_SIGNED
    signed = match["signed"].split(";")
    missing = [h for h in ("content-type", "host") if h not in signed]
    if missing:
        raise _fail(
            "InvalidAuthorization",
            f"SignedHeaders `{match['signed'][:100]}` lacks {' and '.join(missing)}; "
            "it must include content-type and host.",
        )
    if signed != sorted(signed):
        raise _fail(
            "InvalidAuthorization",
            f"SignedHeaders `{match['signed'][:100]}` is not in ascending order.",
        )
    return match, timestamp, signed


async def verify(
    req: SignedRequest,
    lookup: Callable[[str], Awaitable[Credential | None]],
    now: float,
) -> Credential:
    """Return the credential that signed `req`, or raise the AuthFailure it deserves."""
    return (await verified(req, lookup, now))[0]


async def verified(
    req: SignedRequest,
    lookup: Callable[[str], Awaitable[Credential | None]],
    now: float,
) -> tuple[Credential, str]:
    """`verify`, with the request's Signature (what the replay memory keys on)."""
    match, timestamp, signed = _parse(req)
    cred = await lookup(match["sid"])
    if cred is None or cred.scope != "api":
        raise _fail("SecretIdNotFound", "The SecretId is not found; check your credentials.")
    if cred.expired:
        raise _fail("TokenFailure" if cred.token else "SecretIdNotFound", "The credential expired.")
    if cred.token is not None and not cred.token_matches(req.headers.get("x-tc-token", "")):
        raise _fail("TokenFailure", "X-TC-Token is missing or wrong for this temporary SecretId.")
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        raise _fail(
            "SignatureExpire",
            f"The request timestamp {timestamp} is more than {MAX_SKEW_S} s from server time "
            f"{int(now)}; check the client's clock.",
        )
    date = _utc_date(int(timestamp) // 86400)
    if match["date"] != date:
        raise _fail(
            "SignatureFailure",
            f"The credential scope date {match['date']} is not {date}, the UTC date of "
            f"X-TC-Timestamp {timestamp}.",
        )
    service = match["service"]
    signer = _signer(cred.secret_key, date, service)
    signature = match["sig"]
    # The Host as received first: the usual case needs no copy of the request.
    msg = string_to_sign(req, signed, timestamp, date, service)
    if hmac.compare_digest(signer.hexdigest(msg.encode()), signature):
        return cred, signature
    received = req.headers.get("host", "")
    hosts = host_variants(received)
    for host in hosts[1:]:
        variant = req._replace(headers={**req.headers, "host": host})
        msg = string_to_sign(variant, signed, timestamp, date, service)
        if hmac.compare_digest(signer.hexdigest(msg.encode()), signature):
            return cred, signature
    unsigned = req.headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
    payload = "UNSIGNED-PAYLOAD" if unsigned else f"a body of {len(req.body)} bytes"
    raise _fail(
        "SignatureFailure",
        "The signature does not match the request vodflow received: "
        f"{req.method} {req.path[:100]} with host {' or '.join(f'`{h[:100]}`' for h in hosts)}, "
        f"content-type `{req.headers.get('content-type', '')[:100]}`, {payload}, "
        f"signed headers {';'.join(signed)}, scope {date}/{service}/tc3_request; check the "
        "SecretKey and that nothing changed the request after it was signed.",
    )
