"""Client upload signatures, in Tencent's format: issued by an app's server, checked here.

An app's server signs what a browser or phone may upload, and the client hands
the signature to the UGC upload API (api/ugc.py). The signature is
Base64(HMAC-SHA1(SecretKey, original) + original), where `original` is a URL
query string of secretId, currentTimeStamp, expireTime and random, plus the
optional parameters below. Every parameter is honoured or refused by name; an
unknown one is refused, never ignored.

Verification: the digest under the signer's SecretKey (the root credential or an
'api' temporary credential, never a COS one), the validity window (at most 90
days), the application (vodSubAppId, which a temporary credential limited to one
application must match), the parameters' values, and with oneTimeValid=1 a
single use: the digest is recorded until the signature expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from vodflow.core.apps import AppService
from vodflow.core.credentials import Credential, CredentialService
from vodflow.core.task_options import FlowOptions
from vodflow.errors import VodError
from vodflow.store import upload_signatures as q
from vodflow.store.db import Database
from vodflow.upload_signature import (
    MAX_RANDOM,
    MAX_SOURCE_CONTEXT,
    MAX_VALIDITY_S,
    REQUIRED,
    SKEW_S,
    STORAGE_REGION,
    UploadSignatureError,
    decode,
)


@dataclass(frozen=True)
class UploadGrant:
    """What a verified signature allows: one application, and the upload's options."""

    app_id: int
    secret_id: str
    digest: str
    current: int
    expires: int
    one_time: bool
    class_id: int
    procedure: str | None
    source_context: str | None
    storage_region: str | None
    flow: FlowOptions


def _int(params: dict[str, str], name: str, low: int, high: int, default: int = 0) -> int:
    value = params.get(name)
    if value is None or (value == "" and name not in REQUIRED):
        return default
    if not value.lstrip("-").isdigit() or len(value) > 20:
        raise UploadSignatureError(f"{name} must be an integer")
    number = int(value)
    if not low <= number <= high:
        raise UploadSignatureError(f"{name} must be between {low} and {high}")
    return number


class UploadSignatureService:
    def __init__(self, db: Database, credentials: CredentialService, apps: AppService) -> None:
        self.db = db
        self.credentials = credentials
        self.apps = apps

    async def verify(self, signature: str) -> UploadGrant:
        """The grant of a valid signature, or UploadSignatureError (nothing is spent)."""
        digest, original, params = decode(signature)
        signer = await self.credentials.lookup(params["secretId"][:128])
        if signer is None:
            raise UploadSignatureError("the secretId is unknown")
        expected = hmac.new(signer.secret_key.encode("utf-8"), original, hashlib.sha1).digest()
        if not hmac.compare_digest(expected, digest):
            raise UploadSignatureError("the signature does not match its parameters")
        _check_signer(signer)
        t = int(time.time())
        current = _int(params, "currentTimeStamp", 0, 2**40)
        expires = _int(params, "expireTime", 0, 2**40)
        if expires <= current or expires - current > MAX_VALIDITY_S:
            raise UploadSignatureError(
                f"expireTime must be after currentTimeStamp, by at most {MAX_VALIDITY_S} s"
            )
        if current > t + SKEW_S:
            raise UploadSignatureError("currentTimeStamp is in the future")
        if expires < t:
            raise UploadSignatureError(f"the signature expired at {expires}")
        _int(params, "random", 0, MAX_RANDOM)
        one_time = _int(params, "oneTimeValid", 0, 1) == 1
        sub_app = _int(params, "vodSubAppId", 0, 2**40)
        app_id = await self._application(sub_app or None, signer)
        region = params.get("storageRegion") or None
        if region is not None and region != STORAGE_REGION:
            raise UploadSignatureError(
                f"storageRegion {region[:32]} does not exist; vodflow stores in {STORAGE_REGION}"
            )
        source_context = params.get("sourceContext") or None
        if source_context is not None and len(source_context) > MAX_SOURCE_CONTEXT:
            raise UploadSignatureError(
                f"sourceContext is longer than {MAX_SOURCE_CONTEXT} characters"
            )
        procedure = params.get("procedure") or None
        priority = _int(params, "taskPriority", -(2**31), 2**31)
        try:
            flow = FlowOptions.of(
                priority=priority,
                notify_mode=params.get("taskNotifyMode") or None,
                session_context=params.get("sessionContext") or None,
            )
        except VodError as exc:
            raise UploadSignatureError(_flow_field(exc)) from None
        return UploadGrant(
            app_id=app_id,
            secret_id=signer.secret_id,
            digest=hashlib.sha256(digest).hexdigest(),
            current=current,
            expires=expires,
            one_time=one_time,
            class_id=_int(params, "classId", 0, 2**31 - 1),
            procedure=procedure,
            source_context=source_context,
            storage_region=region,
            flow=flow,
        )

    async def spend(self, grant: UploadGrant) -> None:
        """Use a oneTimeValid signature up; a second use is refused."""
        if not grant.one_time:
            return
        try:
            async with self.db.tx() as conn:
                await q.spend(conn, grant.digest, float(grant.expires), time.time())
        except IntegrityError:
            raise UploadSignatureError(
                "this one-time signature (oneTimeValid=1) was already used"
            ) from None

    async def _application(self, sub_app_id: int | None, signer: Credential) -> int:
        if sub_app_id is None and signer.app_id is not None:
            sub_app_id = signer.app_id  # a credential of one application signs for it
        try:
            app_id = await self.apps.resolve(sub_app_id)
        except VodError as exc:
            raise UploadSignatureError(f"vodSubAppId: {exc.message}") from None
        if signer.app_id is not None and signer.app_id != app_id:
            raise UploadSignatureError(
                f"the signer's credential is limited to application {signer.app_id}, not {app_id}"
            )
        return app_id


def _check_signer(signer: Credential) -> None:
    if signer.scope != "api":
        raise UploadSignatureError("this credential cannot sign uploads (an upload credential)")
    if signer.expired:
        raise UploadSignatureError("the signer's temporary credential has expired")


def _flow_field(exc: VodError) -> str:
    """FlowOptions' refusal, in the signature's parameter names."""
    names = {
        "TasksPriority": "taskPriority",
        "TasksNotifyMode": "taskNotifyMode",
        "SessionContext": "sessionContext",
    }
    message = exc.message
    for wire, name in names.items():
        message = message.replace(wire, name)
    return message
