"""Console sessions: a temporary credential of scope "web" (root: "web-root"), in a cookie.

Signing in checks a SecretId/SecretKey (the root one or a temporary API
credential) through core.credentials, then issues a console credential bound to
the same application scope, expiring after SESSION_S (or when the signing
credential does, if sooner). The cookie holds that credential's SecretId and token;
the database holds the token's digest only (core.credentials) and the expiry, so any
replica recognises it, a copy of the database cannot present it, and signing out
(revoking it) ends it everywhere. The CSRF token is an HMAC keyed by the session's
SecretKey, which never leaves the server.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from vodflow.core.credentials import Credential, CredentialService
from vodflow.errors import VodError
from vodflow.timeutil import now

COOKIE = "vodflow_console"
SESSION_S = 8 * 3600
# A session of the root credential acts as the root; any other acts as its own
# (temporary) credential would: the same application scope, no root-only actions.
# (The scope column holds 8 characters.)
SCOPE = "web"
ROOT_SCOPE = "web-root"


def csrf_token(session: Credential) -> str:
    return hmac.new(
        session.secret_key.encode(), b"vodflow-console-csrf", hashlib.sha256
    ).hexdigest()


def csrf_ok(session: Credential, given: str) -> bool:
    return hmac.compare_digest(csrf_token(session).encode(), given.encode()[:128])


async def sign_in(credentials: CredentialService, secret_id: str, secret_key: str) -> Credential:
    """A new console session for a valid API credential, or AuthFailure."""
    cred = await credentials.lookup(secret_id.strip()[:128])
    if (
        cred is None
        or cred.scope != "api"
        or cred.expired
        or not hmac.compare_digest(cred.secret_key.encode(), secret_key.strip().encode()[:256])
    ):
        raise VodError("AuthFailure", "The SecretId or SecretKey is wrong, or has expired.")
    duration = float(SESSION_S)
    if cred.expires_at is not None:
        duration = min(duration, cred.expires_at - now())
    scope = ROOT_SCOPE if cred == credentials.root else SCOPE
    return await credentials.issue(scope=scope, duration_s=duration, app_id=cred.app_id)


async def current(request: Request, credentials: CredentialService) -> Credential | None:
    """The console session of this request's cookie, if it is live."""
    raw = request.cookies.get(COOKIE, "")
    secret_id, _, token = raw[:256].partition(".")
    if not secret_id or not token:
        return None
    cred = await credentials.lookup(secret_id)
    if cred is None or cred.scope not in (SCOPE, ROOT_SCOPE) or cred.expired:
        return None
    if not cred.token_matches(token):
        return None
    return cred


def cookie_value(session: Credential) -> str:
    """For the credential just issued: its token is in hand only now."""
    assert session.token is not None
    return f"{session.secret_id}.{session.token}"


def max_age(session: Credential) -> int:
    return max(1, int((session.expires_at or now()) - now()))


def acting(session: Credential, credentials: CredentialService) -> Credential:
    """The credential the session's calls run as."""
    return credentials.root if session.scope == ROOT_SCOPE else session


def is_root(session: Credential) -> bool:
    return session.scope == ROOT_SCOPE
