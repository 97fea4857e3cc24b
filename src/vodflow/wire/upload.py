"""Upload actions: ApplyUpload, CommitUpload, PullUpload."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from vodflow.wire.common import Int, Region, Request, Str

MediaTypeField = Annotated[Str, Field(min_length=1, max_length=16)]
# Tencent's media names: at most 64 characters.
NameField = Annotated[Str, Field(max_length=64)]
ProcedureField = Annotated[Str, Field(max_length=64)]
TimeField = Annotated[Str, Field(max_length=64)]
RegionField = Region
ClassIdField = Annotated[Int, Field(ge=0, le=2**31 - 1)]
SourceContextField = Annotated[Str, Field(max_length=250)]
# Bounded here; Tencent's limits (and their specific codes) are core/task_options.py's.
SessionContextField = Annotated[Str, Field(max_length=8192)]
SessionIdField = Annotated[Str, Field(max_length=8192)]
ExtInfoField = Annotated[Str, Field(max_length=1000)]
UrlField = Annotated[Str, Field(min_length=1, max_length=2048)]


_PATH_MODE = {"MediaStoragePath": "choosing the storage path (FileID+Path mode)"}
_REGION_NOTE = {"StorageRegion": "ap-local (or empty) only; another region is refused"}


class ApplyUploadRequest(Request):
    REFUSED = _PATH_MODE
    NOTES = _REGION_NOTE
    MediaType: MediaTypeField
    MediaName: NameField | None = None
    CoverType: Annotated[Str, Field(max_length=16)] | None = None
    Procedure: ProcedureField | None = None
    ExpireTime: TimeField | None = None
    StorageRegion: RegionField | None = None
    ClassId: ClassIdField | None = None
    SourceContext: SourceContextField | None = None
    SessionContext: SessionContextField | None = None
    ExtInfo: ExtInfoField | None = None


def apply_upload_answer(
    app_id: int,
    session_key: str,
    media_key: str,
    cover_key: str | None,
    credential: tuple[str, str, str, float | None],
) -> dict[str, Any]:
    """ApplyUpload's answer; `credential` is (SecretId, SecretKey, Token, expiry)."""
    secret_id, secret_key, token, expires_at = credential
    answer: dict[str, Any] = {
        "StorageBucket": f"vodflow-{app_id}",
        "StorageRegion": "ap-local",
        "VodSessionKey": session_key,
        "MediaStoragePath": "/" + media_key,
        "TempCertificate": {
            "SecretId": secret_id,
            "SecretKey": secret_key,
            "Token": token,
            "ExpiredTime": int(expires_at or 0),
        },
    }
    if cover_key:
        answer["CoverStoragePath"] = "/" + cover_key
    return answer


class CommitUploadRequest(Request):
    VodSessionKey: Annotated[Str, Field(min_length=1, max_length=256)]


class PullUploadRequest(Request):
    REFUSED = _PATH_MODE
    NOTES = _REGION_NOTE
    MediaUrl: UrlField
    MediaType: MediaTypeField | None = None
    MediaName: NameField | None = None
    CoverUrl: UrlField | None = None
    Procedure: ProcedureField | None = None
    ExpireTime: TimeField | None = None
    StorageRegion: RegionField | None = None
    ClassId: ClassIdField | None = None
    TasksPriority: Annotated[Int, Field(ge=-10, le=10)] | None = None
    SessionContext: SessionContextField | None = None
    SessionId: SessionIdField | None = None
    ExtInfo: ExtInfoField | None = None
    SourceContext: SourceContextField | None = None
