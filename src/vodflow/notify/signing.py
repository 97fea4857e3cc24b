"""Signing a normal callback: Tencent's T (expiry) and Sign = md5(SignKey + T)."""

from __future__ import annotations

from vodflow.receiver import expected_sign

SIGN_TTL_S = 600


def push_body(body: str, sign_key: str, now_s: float) -> str:
    """The POST body: the stored EventContent, plus T and Sign when the app has a key."""
    if not sign_key:
        return body
    t = int(now_s) + SIGN_TTL_S
    return f'{body[:-1]},"T":{t},"Sign":"{expected_sign(sign_key, t)}"}}'
