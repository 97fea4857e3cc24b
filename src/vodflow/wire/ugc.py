"""The UGC upload API (`/v3/index.php`) of Tencent's client upload SDKs.

Request bodies are JSON objects with the field names vod-js-sdk-v6 (and the
Android/iOS UGC SDKs) send; answers are `{code, message, data}` with code 0 on
success. Fields vodflow does not take are refused by name (extra="forbid").
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from vodflow.wire.common import Int, Str, WireModel

SignatureField = Annotated[Str, Field(min_length=1, max_length=8192)]
SessionKeyField = Annotated[Str, Field(min_length=1, max_length=256)]
NameField = Annotated[Str, Field(max_length=64)]
TypeField = Annotated[Str, Field(min_length=1, max_length=16)]
SizeField = Annotated[Int, Field(ge=0, le=2**53)]


class UgcRequest(WireModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    signature: SignatureField
    # What the Android/iOS upload SDKs add to every call for Tencent's reporting:
    # taken, and without effect (docs/uploads-from-clients.md).
    clientVersion: Annotated[Str, Field(max_length=64)] | None = None
    clientReportId: Annotated[Str, Field(max_length=256)] | None = None


class PrepareUploadUGC(UgcRequest):
    pass


class ApplyUploadUGC(UgcRequest):
    vodSessionKey: SessionKeyField | None = None
    videoName: NameField | None = None
    videoType: TypeField | None = None
    videoSize: SizeField | None = None
    coverName: NameField | None = None
    coverType: TypeField | None = None
    coverSize: SizeField | None = None
    fileId: Annotated[Str, Field(max_length=64)] | None = None
    uploadFromWeb: bool | None = None
    storageRegion: Annotated[Str, Field(max_length=32)] | None = None
    ExpireTime: Annotated[Str, Field(max_length=64)] | None = None


class CommitUploadUGC(UgcRequest):
    vodSessionKey: SessionKeyField


def apply_answer(
    *,
    app_id: int,
    region: str,
    session_key: str,
    media_key: str,
    cover_key: str | None,
    credential: tuple[str, str, str, float | None],
    domain: str,
    timestamp: int,
) -> dict[str, Any]:
    """ApplyUploadUGC's `data`: where to write (bucket `<storageBucket>-<storageAppId>`)."""
    secret_id, secret_key, token, expires_at = credential
    data: dict[str, Any] = {
        "video": {"storageSignature": "", "storagePath": "/" + media_key},
        "storageAppId": app_id,
        "storageBucket": "vodflow",
        "storageRegion": region,
        "storageRegionV5": region,
        "StorageRegionV5": region,
        "domain": domain,
        "vodSessionKey": session_key,
        "tempCertificate": {
            "secretId": secret_id,
            "secretKey": secret_key,
            "token": token,
            "expiredTime": int(expires_at or 0),
        },
        "appId": app_id,
        "timestamp": timestamp,
    }
    if cover_key:
        data["cover"] = {"storageSignature": "", "storagePath": "/" + cover_key}
    return data


def commit_answer(file_id: str, media_url: str, cover_url: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"fileId": file_id, "video": {"url": media_url}}
    if cover_url:
        data["cover"] = {"url": cover_url}
    return data
