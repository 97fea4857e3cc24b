"""Client upload signatures in Tencent's format: make one (`sign`), read one (`decode`).

The helper an app's server uses to issue signatures to its browsers and phones
(`vodflow sign-upload` prints one). The signature is
Base64(HMAC-SHA1(SecretKey, original) + original), where `original` is a URL
query string of secretId, currentTimeStamp, expireTime and random, plus the
optional parameters in OPTIONAL. vodflow's server checks them in
core/upload_signatures.py. Standard library only: importing it pulls in nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qsl, urlencode

MAX_VALIDITY_S = 7_776_000  # 90 days: Tencent's longest signature validity
MAX_RANDOM = 2**32 - 1
MAX_SIGNATURE_CHARS = 8192
MAX_SOURCE_CONTEXT = 250
SKEW_S = 300  # a currentTimeStamp this far ahead of the server's clock is still taken
# The only storage region vodflow has (wire.common.STORAGE_REGION; a test keeps them equal).
STORAGE_REGION = "ap-local"

REQUIRED = ("secretId", "currentTimeStamp", "expireTime", "random")
OPTIONAL = (
    "classId",
    "procedure",
    "taskPriority",
    "taskNotifyMode",
    "sourceContext",
    "oneTimeValid",
    "vodSubAppId",
    "sessionContext",
    "storageRegion",
)


class UploadSignatureError(Exception):
    """A refused client upload signature; the message says which part and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sign(
    secret_id: str,
    secret_key: str,
    *,
    expire_in: int = 3600,
    now: int | None = None,
    random: int | None = None,
    procedure: str | None = None,
    class_id: int | None = None,
    source_context: str | None = None,
    session_context: str | None = None,
    sub_app_id: int | None = None,
    one_time_valid: bool = False,
    storage_region: str | None = None,
    task_priority: int | None = None,
    task_notify_mode: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """A client upload signature, as Tencent's server-side samples make them.

    `extra` adds parameters verbatim (tests use it to try ones vodflow refuses).
    """
    current = int(time.time()) if now is None else now
    params: dict[str, str | int] = {
        "secretId": secret_id,
        "currentTimeStamp": current,
        "expireTime": current + expire_in,
        "random": secrets.randbelow(MAX_RANDOM + 1) if random is None else random,
    }
    optional: dict[str, str | int | None] = {
        "procedure": procedure,
        "classId": class_id,
        "sourceContext": source_context,
        "sessionContext": session_context,
        "vodSubAppId": sub_app_id,
        "oneTimeValid": 1 if one_time_valid else None,
        "storageRegion": storage_region,
        "taskPriority": task_priority,
        "taskNotifyMode": task_notify_mode,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    params.update(extra or {})
    original = urlencode(params).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), original, hashlib.sha1).digest()
    return base64.b64encode(digest + original).decode("ascii")


def decode(signature: str) -> tuple[bytes, bytes, dict[str, str]]:
    """(digest, original, parameters) of a signature, before any key is involved."""
    if not signature or len(signature) > MAX_SIGNATURE_CHARS:
        raise UploadSignatureError("the signature is empty or too long")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UploadSignatureError("the signature is not Base64") from None
    digest, original = raw[:20], raw[20:]
    if len(digest) < 20 or not original:
        raise UploadSignatureError("the signature is too short")
    try:
        text = original.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise UploadSignatureError("the signed text is not a query string") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise UploadSignatureError(f"the parameter {name[:32]} appears twice")
        params[name] = value
    unknown = sorted(set(params) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise UploadSignatureError(
            f"vodflow does not support the signature parameter {unknown[0][:32]}"
        )
    for name in REQUIRED:
        if name not in params:
            raise UploadSignatureError(f"the signature lacks {name}")
    return digest, original, params
