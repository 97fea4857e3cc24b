"""Identifiers in the shapes Tencent uses, from a cryptographic source."""

from __future__ import annotations

import os
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


# The variant digit of a UUID (RFC 4122: binary 10xx) from a random hex digit.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def request_id() -> str:
    """A random (version 4) UUID in its text form, as `str(uuid.uuid4())` writes it
    (every API request makes one; this costs a third of that)."""
    x = os.urandom(16).hex()
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:]}"


def file_id() -> str:
    """A decimal FileId like Tencent's (19 digits, never starting with 0)."""
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def task_id(app_id: int, kind: str = "Procedure") -> str:
    """`<appid>-<kind>-<hex>t<n>`, e.g. 1256768367-Procedure-475b72f0cb177t1."""
    return f"{app_id}-{kind}-{secrets.token_hex(16)}t{secrets.randbelow(9) + 1}"


def token(nbytes: int = 16) -> str:
    """An unguessable URL-safe component."""
    return secrets.token_hex(nbytes)


def secret_id(prefix: str = "AKID") -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(32))


def secret_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))
