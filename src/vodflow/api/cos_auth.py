"""COS request signatures (`q-sign-algorithm=sha1`), checked the way COS checks them.

The client (cos-python-sdk-v5's CosS3Auth) signs the method, the unencoded key
path, the listed query parameters and headers, and a validity window, with an
HMAC-SHA1 chain keyed by the temporary SecretKey. vodflow recomputes the same
string from what it received. The `host` header is compared both with and
without the port, because the SDK signs the URL's hostname only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

from vodflow.core.credentials import Credential

Lookup = Callable[[str], Awaitable[Credential | None]]
MAX_WINDOW_S = 7 * 24 * 3600
SKEW_S = 300


class CosAuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CosRequest:
    method: str
    raw_path: str  # percent-encoded, as received
    query: str
    headers: Mapping[str, str]  # lowercased names


def _q(value: str) -> str:
    return quote(value.encode("utf-8"), "-_.~")


def parse_authorization(value: str) -> dict[str, str]:
    if len(value) > 4096:
        raise CosAuthError("AccessDenied", "The Authorization header is too long.")
    fields = dict(parse_qsl(value, keep_blank_values=True))
    for name in ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-signature"):
        if name not in fields:
            raise CosAuthError("AccessDenied", f"The Authorization header lacks {name}.")
    if fields["q-sign-algorithm"] != "sha1":
        raise CosAuthError("AccessDenied", "Only q-sign-algorithm=sha1 is supported.")
    return fields


def _window(value: str, now: float) -> None:
    try:
        start_s, end_s = value.split(";")
        start, end = int(start_s), int(end_s)
    except ValueError:
        raise CosAuthError("AccessDenied", "q-sign-time is malformed.") from None
    if end - start > MAX_WINDOW_S or end < start:
        raise CosAuthError("AccessDenied", "q-sign-time spans too long a window.")
    if not start - SKEW_S <= now <= end:
        raise CosAuthError("RequestTimeTooSkewed", "The signature is not valid at this time.")


def string_to_sign(
    req: CosRequest, header_names: list[str], param_names: list[str], host_value: str
) -> str:
    params: dict[str, str] = {}
    for k, v in parse_qsl(req.query, keep_blank_values=True):
        params.setdefault(_q(k).lower(), _q(v))
    headers = dict(req.headers)
    signed_headers = []
    for name in header_names:
        value = host_value if name == "host" else headers.get(name)
        if value is None:
            raise CosAuthError("AccessDenied", f"The signed header {name} is missing.")
        signed_headers.append(f"{name}={_q(value)}")
    signed_params = []
    for name in param_names:
        if name not in params:
            raise CosAuthError("AccessDenied", f"The signed parameter {name} is missing.")
        signed_params.append(f"{name}={params[name]}")
    path = unquote(req.raw_path)
    return f"{req.method.lower()}\n{path}\n{'&'.join(signed_params)}\n{'&'.join(signed_headers)}\n"


def signature(secret_key: str, key_time: str, sign_time: str, format_str: str) -> str:
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    digest = hashlib.sha1(format_str.encode("utf-8")).hexdigest()
    to_sign = f"sha1\n{sign_time}\n{digest}\n"
    return hmac.new(sign_key.encode(), to_sign.encode(), hashlib.sha1).hexdigest()


async def verify(req: CosRequest, lookup: Lookup, now: float) -> Credential:
    """The credential that signed this request, or CosAuthError."""
    auth = req.headers.get("authorization", "")
    if not auth:
        raise CosAuthError("AccessDenied", "The request is not signed.")
    fields = parse_authorization(auth)
    _window(fields["q-sign-time"], now)
    _window(fields["q-key-time"], now)
    credential = await lookup(fields["q-ak"][:128])
    if credential is None:
        raise CosAuthError("InvalidAccessKeyId", "The SecretId does not exist.")
    if credential.expired:
        raise CosAuthError("ExpiredToken", "The temporary credential has expired.")
    if credential.token and not credential.token_matches(
        req.headers.get("x-cos-security-token", "")
    ):
        raise CosAuthError("InvalidToken", "x-cos-security-token does not match the credential.")
    header_names = [h for h in fields.get("q-header-list", "").lower().split(";") if h]
    param_names = [p for p in fields.get("q-url-param-list", "").lower().split(";") if p]
    host = req.headers.get("host", "")
    hosts = [host]
    if ":" in host and not host.endswith("]"):
        hosts.append(host.rsplit(":", 1)[0])
    given = fields["q-signature"].lower()
    for candidate in hosts:
        text = string_to_sign(req, header_names, param_names, candidate)
        expected = signature(
            credential.secret_key, fields["q-key-time"], fields["q-sign-time"], text
        )
        if hmac.compare_digest(expected, given):
            return credential
    raise CosAuthError("SignatureDoesNotMatch", "The request signature does not match.")
