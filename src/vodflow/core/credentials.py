"""Who may sign requests: the root credential and temporary ones vodflow issues.

The root credential comes from settings (or is generated once into the data dir by
the composition root). Temporary credentials carry a token, an expiry and a scope:
'api' ones sign VOD API calls; 'cos' ones, handed out by ApplyUpload, are good only
for writing the object paths of one upload session.

The database keeps a temporary credential's token only as a SHA-256 digest
(`sha256:<hex>`): the token is only ever compared, so a copy of the database
alone cannot present it. The SecretKey itself must stay readable, since TC3 and
COS signatures are HMACs keyed with it; the data dir's file modes protect it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from vodflow import ids
from vodflow.store import credentials as q
from vodflow.store.db import Database
from vodflow.timeutil import now


@dataclass(frozen=True)
class Credential:
    secret_id: str
    secret_key: str
    token: str | None = None
    scope: str = "api"
    app_id: int | None = None
    session_key: str | None = None
    expires_at: float | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at < now()

    def token_matches(self, presented: str) -> bool:
        """Whether `presented` is this credential's token (stored digested or, for rows
        written before digests, as issued)."""
        if self.token is None:
            return False
        if self.token.startswith(DIGEST_PREFIX):
            return hmac.compare_digest(token_digest(presented), self.token)
        return hmac.compare_digest(presented.encode(), self.token.encode())


DIGEST_PREFIX = "sha256:"


def token_digest(token: str) -> str:
    return DIGEST_PREFIX + hashlib.sha256(token.encode()).hexdigest()


class CredentialService:
    def __init__(self, db: Database, root: Credential) -> None:
        self.db = db
        self.root = root

    async def lookup(self, secret_id: str) -> Credential | None:
        if secret_id == self.root.secret_id:
            return self.root
        if len(secret_id) > 64:
            return None
        async with self.db.read_inline() as conn:
            row = await q.get(conn, secret_id)
        if row is None:
            return None
        return Credential(
            secret_id=row["secret_id"],
            secret_key=row["secret_key"],
            token=row["token"],
            scope=row["scope"],
            app_id=row["app_id"],
            session_key=row["session_key"],
            expires_at=row["expires_at"],
        )

    async def issue(
        self,
        *,
        scope: str,
        duration_s: float,
        app_id: int | None = None,
        session_key: str | None = None,
    ) -> Credential:
        token = ids.token(32)
        cred = Credential(
            secret_id=ids.secret_id("AKIDtmp"),
            secret_key=ids.secret_key(),
            token=token,
            scope=scope,
            app_id=app_id,
            session_key=session_key,
            expires_at=now() + duration_s,
        )
        async with self.db.tx() as conn:
            await q.add(
                conn,
                secret_id=cred.secret_id,
                secret_key=cred.secret_key,
                token=token_digest(token),
                scope=cred.scope,
                app_id=cred.app_id,
                session_key=cred.session_key,
                expires_at=cred.expires_at,
                create_time=now(),
            )
        return cred

    async def revoke(self, secret_id: str) -> None:
        """Forget a temporary credential at once (a console session signing out)."""
        async with self.db.tx() as conn:
            await q.remove(conn, secret_id)
