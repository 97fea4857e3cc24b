"""TC3-HMAC-SHA256 verification, exactly as the official SDK signs.

Reference: `tencentcloud/common/abstract_client.py` (`_build_req_with_tc3_signature`).
The checks run in the order that gives the most useful error: a garbled header
first, then an unknown SecretId, then the clock, then the signature itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from vodflow.core.credentials import Credential
from vodflow.errors import VodError

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "vod"
MAX_SKEW_S = 300

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<sid>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[a-z0-9]+)/tc3_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*"
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str = SERVICE) -> bytes:
    return _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")


def string_to_sign(
    req: SignedRequest, signed_headers: list[str], timestamp: str, date: str, service: str
) -> str:
    canonical_headers = "".join(f"{h}:{req.headers.get(h, '').strip()}\n" for h in signed_headers)
    if req.headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(req.body).hexdigest()
    canonical = "\n".join(
        [
            req.method,
            req.path,
            req.query if req.method == "GET" else "",
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def sign(secret_key: str, req: SignedRequest, signed_headers: list[str], timestamp: str) -> str:
    """The signature a client with `secret_key` computes (used by tests and the CLI)."""
    date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    key = signing_key(secret_key, date)
    msg = string_to_sign(req, signed_headers, timestamp, date, SERVICE)
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def _fail(code: str, message: str) -> VodError:
    return VodError(f"AuthFailure.{code}", message)


async def verify(
    req: SignedRequest,
    lookup: Callable[[str], Awaitable[Credential | None]],
    now: float,
) -> Credential:
    """Return the credential that signed `req`, or raise the AuthFailure it deserves."""
    header = req.headers.get("authorization", "")
    match = _AUTH_RE.match(header.strip())
    timestamp = req.headers.get("x-tc-timestamp", "")
    if not match or not timestamp.isdigit() or len(timestamp) > 12:
        raise _fail(
            "InvalidAuthorization",
            "The Authorization header or X-TC-Timestamp is missing or malformed; "
            "expected TC3-HMAC-SHA256 Credential=<SecretId>/<date>/vod/tc3_request, "
            "SignedHeaders=content-type;host, Signature=<hex>.",
        )
    signed = match["signed"].split(";")
    if "host" not in signed or "content-type" not in signed or signed != sorted(signed):
        raise _fail("InvalidAuthorization", "SignedHeaders must include content-type and host.")
    cred = await lookup(match["sid"])
    if cred is None or cred.scope != "api":
        raise _fail("SecretIdNotFound", "The SecretId is not found; check your credentials.")
    if cred.expired:
        raise _fail("TokenFailure" if cred.token else "SecretIdNotFound", "The credential expired.")
    if cred.token is not None and not hmac.compare_digest(
        req.headers.get("x-tc-token", ""), cred.token
    ):
        raise _fail("TokenFailure", "X-TC-Token is missing or wrong for this temporary SecretId.")
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        raise _fail(
            "SignatureExpire",
            f"The request timestamp {timestamp} is more than {MAX_SKEW_S} s from server time "
            f"{int(now)}; check the client's clock.",
        )
    date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    if match["date"] != date or match["service"] != SERVICE:
        raise _fail("SignatureFailure", "The credential scope does not match the timestamp.")
    key = signing_key(cred.secret_key, date, SERVICE)
    msg = string_to_sign(req, signed, timestamp, date, SERVICE)
    expected = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["sig"]):
        raise _fail(
            "SignatureFailure",
            "The signature does not match; check the SecretKey and what was signed.",
        )
    return cred
