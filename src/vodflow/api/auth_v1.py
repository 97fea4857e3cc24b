"""Signature v1 (HmacSHA1 / HmacSHA256 over the sorted parameters), as Tencent documents it.

The official SDKs still offer it (`ClientProfile(signMethod="HmacSHA256")` in Python,
`profile.signMethod` in Node.js) and Tencent's `vod-node-sdk` upload helper uses it.
Every parameter travels in the query (GET) or an `application/x-www-form-urlencoded`
body (POST), next to the common ones: Action, Version, Region, Timestamp, Nonce,
SecretId, Signature, SignatureMethod, Token, RequestClient, Language.

The client signs `<METHOD><host><path>?<k1=v1&k2=v2...>`: every parameter except
Signature, sorted by name, with raw (not URL-encoded) values; the signature is the
Base64 HMAC of that string with the SecretKey, SHA-256 when SignatureMethod is
HmacSHA256 and SHA-1 otherwise (Tencent's rule). References: the Python SDK's
`abstract_client.py` (`_build_req_with_old_signature`, `_format_sign_string`, which
also writes `_` in names as `.`) and the Node.js SDK's `formatSignString`.

The host is the Host header with or without its port, as for TC3 (see auth.py). As
in TC3, a request may be replayed within the 5-minute Timestamp window: vodflow
checks the Nonce's form, and keeps no record of Nonces seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from vodflow.api.auth import MAX_SKEW_S, SignedRequest, host_variants
from vodflow.core.credentials import Credential
from vodflow.errors import VodError

FORM = "application/x-www-form-urlencoded"
SHA256 = "HmacSHA256"
COMMON = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "RequestClient",
        "Language",
    }
)
REQUIRED = ("Action", "Version", "SecretId", "Timestamp", "Nonce", "Signature")
MAX_FIELDS = 2000
_SIGNED_QUERY = re.compile(r"(?:^|&)(?:Signature|SecretId)=")


@dataclass(frozen=True)
class V1Call:
    credential: Credential
    action: str
    version: str
    params: list[tuple[str, str]]  # the action's own parameters, common ones removed


def applies(method: str, headers: Mapping[str, str], query: str) -> bool:
    """A v1 request: no Authorization header, and the parameters carry the signature."""
    if headers.get("authorization"):
        return False
    if method == "POST":
        return headers.get("content-type", "").split(";")[0].strip().lower() == FORM
    return method == "GET" and _SIGNED_QUERY.search(query) is not None


def _fail(code: str, message: str) -> VodError:
    return VodError(f"AuthFailure.{code}", message)


def _fields(req: SignedRequest) -> list[tuple[str, str]]:
    if req.method == "POST":
        if req.query:
            raise VodError(
                "InvalidParameter",
                "A signature v1 POST carries its parameters in the form body; "
                "the URL must have no query string.",
            )
        try:
            raw = req.body.decode("utf-8")
        except UnicodeDecodeError:
            raise VodError("InvalidParameter", "The form body is not UTF-8.") from None
    else:
        raw = req.query
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise VodError(
            "InvalidParameter", f"The request has more than {MAX_FIELDS} parameters."
        ) from None
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise VodError("InvalidParameter", f"The parameter `{key[:100]}` is given twice.")
        seen.add(key)
    return pairs


def _positive_int(fields: Mapping[str, str], name: str, digits: int) -> int:
    value = fields[name]
    if not value.isascii() or not value.isdigit() or len(value) > digits or int(value) == 0:
        raise VodError(
            "InvalidParameterValue",
            f"{name} `{value[:32]}` must be a positive integer of at most {digits} digits.",
        )
    return int(value)


def string_to_sign(method: str, host: str, path: str, pairs: list[tuple[str, str]]) -> str:
    """What the client signs (every parameter but Signature, sorted by name)."""
    signed = sorted((k, v) for k, v in pairs if k != "Signature")
    return f"{method}{host}{path}?" + "&".join(f"{k}={v}" for k, v in signed)


def signature(secret_key: str, text: str, method: str) -> str:
    digest = hashlib.sha256 if method == SHA256 else hashlib.sha1
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), digest).digest()).decode()


async def verify(
    req: SignedRequest,
    lookup: Callable[[str], Awaitable[Credential | None]],
    now: float,
) -> V1Call:
    """The credential, action and parameters of a v1 request, or the error it deserves."""
    pairs = _fields(req)
    fields = dict(pairs)
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        raise VodError(
            "MissingParameter",
            f"The request is missing {', '.join(missing)} (signature v1 parameters).",
        )
    timestamp = _positive_int(fields, "Timestamp", 12)
    _positive_int(fields, "Nonce", 20)
    cred = await lookup(fields["SecretId"][:128])
    if cred is None or cred.scope != "api":
        raise _fail("SecretIdNotFound", "The SecretId is not found; check your credentials.")
    if cred.expired:
        raise _fail("TokenFailure" if cred.token else "SecretIdNotFound", "The credential expired.")
    if cred.token is not None and not cred.token_matches(fields.get("Token", "")):
        raise _fail("TokenFailure", "Token is missing or wrong for this temporary SecretId.")
    if abs(now - timestamp) > MAX_SKEW_S:
        raise _fail(
            "SignatureExpire",
            f"The request Timestamp {timestamp} is more than {MAX_SKEW_S} s from server time "
            f"{int(now)}; check the client's clock.",
        )
    method = fields.get("SignatureMethod", "")
    given = fields["Signature"].encode()
    # The Python SDK writes `_` in parameter names as `.` in the string it signs.
    dotted = [(k.replace("_", "."), v) for k, v in pairs]
    texts: list[str] = []
    for host in host_variants(req.headers.get("host", "")):
        for variant in (pairs, dotted) if dotted != pairs else (pairs,):
            text = string_to_sign(req.method, host, req.path, variant)
            texts.append(text)
            expected = signature(cred.secret_key, text, method).encode()
            if hmac.compare_digest(expected, given):
                return V1Call(
                    credential=cred,
                    action=fields["Action"],
                    version=fields["Version"],
                    params=[(k, v) for k, v in pairs if k not in COMMON],
                )
    shown = texts[0] if len(texts[0]) <= 300 else texts[0][:300] + "..."
    raise _fail(
        "SignatureFailure",
        f"The {method if method == SHA256 else 'HmacSHA1'} signature does not match the "
        f"string vodflow signed: `{shown}` (the host also without its port); check the "
        "SecretKey and that nothing changed the parameters after signing.",
    )
