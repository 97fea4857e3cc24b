"""`POST /v3/index.php?Action=...`: the UGC upload API that client upload SDKs call.

vod-js-sdk-v6 (and the mobile UGC SDKs) send a client upload signature
(core/upload_signatures.py) in a JSON body: PrepareUploadUGC (where to upload),
ApplyUploadUGC (open an upload session: the same UploadService as ApplyUpload,
with the signature's procedure, context and flow options), then write the bytes
to the COS endpoint (api/cos.py) with the temporary credential, and
CommitUploadUGC (UploadService.commit: NewFileUpload, then the procedure's flow).

Answers are HTTP 200 with `{code, message, data}`: code 0 on success, 10004
(`ugc upload | invalid signature: ...`) for any refused signature (forged,
expired, reused one-time, another application's, a parameter vodflow refuses),
10001 (`ugc upload | invalid request: ...`) for a bad request, naming the field or
the VOD error code behind it, 10000 for an internal error.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from vodflow import ids
from vodflow.api import envelope
from vodflow.api.server import read_body
from vodflow.core.upload_signatures import UploadGrant
from vodflow.errors import VodError
from vodflow.upload_signature import STORAGE_REGION, UploadSignatureError
from vodflow.wire import ugc

if TYPE_CHECKING:
    from vodflow.services import Services

log = logging.getLogger("vodflow.ugc")

BODY_LIMIT = 64 * 1024
OK = 0
INTERNAL_ERROR = 10000
INVALID_REQUEST = 10001
INVALID_SIGNATURE = 10004


class UgcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _answer(code: int, message: str, data: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": data or {}})


async def ugc_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    action = request.query_params.get("Action", "")
    try:
        handler = ACTIONS.get(action)
        if handler is None:
            raise UgcError(INVALID_REQUEST, f"the action `{action[:64]}` does not exist")
        model, run = handler
        body = await read_body(request, BODY_LIMIT)
        try:
            raw = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UgcError(INVALID_REQUEST, "the body is not JSON (or nested too deep)") from None
        if not isinstance(raw, dict):
            raise UgcError(INVALID_REQUEST, "the body is not a JSON object")
        try:
            req = model.model_validate(raw)
        except ValidationError as exc:
            problem = envelope.from_validation(exc)
            raise UgcError(INVALID_REQUEST, problem.message) from None
        grant = await _grant(services, action, req.signature)
        data = await run(services, request, grant, req)
        return _answer(OK, "成功", data)
    except UgcError as exc:
        prefix = "invalid signature" if exc.code == INVALID_SIGNATURE else "invalid request"
        return _answer(exc.code, f"ugc upload | {prefix}: {exc.message}")
    except VodError as exc:
        return _answer(INVALID_REQUEST, f"ugc upload | invalid request: {exc.code}: {exc.message}")
    except ClientDisconnect:
        return Response(status_code=499)
    except Exception:
        request_id = ids.request_id()
        log.exception("internal error in %s (RequestId %s)", action[:64], request_id)
        return _answer(INTERNAL_ERROR, f"ugc upload | internal error; RequestId {request_id}")


async def _grant(services: Services, action: str, signature: str) -> UploadGrant:
    signatures = services.upload_signatures
    try:
        grant = await signatures.verify(signature)
        if not services.limiter.allow(grant.secret_id, action):
            raise UgcError(INVALID_REQUEST, f"too many {action} requests per second")
        await signatures.spend(grant)
    except UploadSignatureError as exc:
        raise UgcError(INVALID_SIGNATURE, exc.message) from None
    return grant


async def prepare(
    services: Services, request: Request, grant: UploadGrant, req: Any
) -> dict[str, Any]:
    bucket = f"vodflow-{grant.app_id}"
    region = {"region": STORAGE_REGION, "domain": f"{bucket}.cos.{STORAGE_REGION}.myqcloud.com"}
    return {"appId": grant.app_id, "cosRegionList": [region]}


async def apply(
    services: Services, request: Request, grant: UploadGrant, req: ugc.ApplyUploadUGC
) -> dict[str, Any]:
    uploads = services.uploads
    if req.fileId is not None:
        raise UgcError(INVALID_REQUEST, "fileId (replacing a media's cover) is not supported")
    if req.storageRegion and req.storageRegion != STORAGE_REGION:
        raise UgcError(
            INVALID_REQUEST, f"storageRegion must be {STORAGE_REGION}, vodflow's only region"
        )
    if req.vodSessionKey:
        ticket = await uploads.resume(grant.app_id, req.vodSessionKey)
    else:
        if not req.videoType:
            raise UgcError(INVALID_REQUEST, "videoType is required")
        for name, size in (("videoSize", req.videoSize), ("coverSize", req.coverSize)):
            if size is not None and size > uploads.max_bytes:
                raise UgcError(
                    INVALID_REQUEST, f"{name} exceeds the {uploads.max_bytes} bytes vodflow takes"
                )
        if (req.coverName or req.coverSize is not None) and not req.coverType:
            raise UgcError(INVALID_REQUEST, "coverType is required with a cover")
        ticket = await uploads.apply(
            grant.app_id,
            media_type=req.videoType,
            media_name=req.videoName,
            cover_type=req.coverType,
            procedure=grant.procedure,
            session_context=grant.flow.session_context or None,
            source_context=grant.source_context,
            expire_time=req.ExpireTime,
            class_id=grant.class_id,
            task_priority=grant.flow.priority,
            task_notify_mode=grant.flow.notify_mode,
        )
    cred = ticket.credential
    return ugc.apply_answer(
        app_id=ticket.app_id,
        region=STORAGE_REGION,
        session_key=ticket.session_key,
        media_key=ticket.media_key,
        cover_key=ticket.cover_key,
        credential=(cred.secret_id, cred.secret_key, cred.token or "", cred.expires_at),
        domain=request.headers.get("host", "")[:256],
        timestamp=int(time.time()),
    )


async def commit(
    services: Services, request: Request, grant: UploadGrant, req: ugc.CommitUploadUGC
) -> dict[str, Any]:
    record = await services.uploads.commit(grant.app_id, req.vodSessionKey)
    return ugc.commit_answer(record.file_id, record.media_url, record.cover_url)


ACTIONS: dict[str, tuple[type[ugc.UgcRequest], Any]] = {
    "PrepareUploadUGC": (ugc.PrepareUploadUGC, prepare),
    "ApplyUploadUGC": (ugc.ApplyUploadUGC, apply),
    "CommitUploadUGC": (ugc.CommitUploadUGC, commit),
}
