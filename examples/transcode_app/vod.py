"""The app's side of Tencent VOD, through the official SDKs only (tencentcloud-sdk-python
and cos-python-sdk-v5): nothing here knows it may be talking to vodflow."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qcloud_cos import CosConfig, CosS3Client
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models
from tencentcloud.vod.v20180717.vod_client import VodClient

logging.getLogger("qcloud_cos").setLevel(logging.WARNING)

# Tencent's codes worth another try: throttling and its own transient failures.
RETRYABLE = {"RequestLimitExceeded", "InternalError", "ClientNetworkError"}


@dataclass(frozen=True)
class VodConfig:
    endpoint: str  # "vod.tencentcloudapi.com" in production; host:port of vodflow in tests
    secret_id: str
    secret_key: str
    sub_app_id: int
    sign_key: str  # the application's event SignKey (ModifyEventConfig)
    procedure: str  # the task flow every upload goes through
    scheme: str = "https"
    call_attempts: int = 4
    call_backoff_s: float = 0.2


class InvalidCallback(ValueError):
    pass


def verify_callback(body: bytes, sign_key: str, now: float | None = None) -> dict[str, Any]:
    """Tencent's normal-callback signature: Sign = md5(SignKey + T), T = expiry (unix s)."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise InvalidCallback("not JSON") from exc
    if not isinstance(event, dict):
        raise InvalidCallback("not an object")
    t, sign = event.pop("T", None), event.pop("Sign", None)
    if not str(t).isdigit() or not isinstance(sign, str):
        raise InvalidCallback("T or Sign missing")
    expected = hashlib.md5(f"{sign_key}{t}".encode(), usedforsecurity=False).hexdigest()
    if not hmac.compare_digest(sign, expected):
        raise InvalidCallback("bad Sign")
    if int(str(t)) < (time.time() if now is None else now):
        raise InvalidCallback("expired (T in the past)")
    return event


class Vod:
    def __init__(self, config: VodConfig) -> None:
        self.config = config
        profile = ClientProfile(
            httpProfile=HttpProfile(protocol=config.scheme, endpoint=config.endpoint, reqTimeout=60)
        )
        cred = credential.Credential(config.secret_id, config.secret_key)
        self.client = VodClient(cred, "", profile)
        self.retries = 0  # calls tried again after a transient error

    def _call(self, method: str, request: Any) -> dict[str, Any]:
        """One SDK call, retried on Tencent's transient codes; the response as a dict."""
        request.SubAppId = self.config.sub_app_id
        for attempt in range(self.config.call_attempts):
            try:
                answer = getattr(self.client, method)(request)
                result: dict[str, Any] = json.loads(answer.to_json_string())
                return result
            except TencentCloudSDKException as exc:
                if exc.get_code() not in RETRYABLE or attempt + 1 == self.config.call_attempts:
                    raise
                self.retries += 1
                time.sleep(self.config.call_backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def upload(self, path: Path) -> str:
        """ApplyUpload, PUT to COS, CommitUpload: the FileId."""
        apply = models.ApplyUploadRequest()
        apply.MediaType = path.suffix.lstrip(".") or "mp4"
        apply.MediaName = path.stem
        applied = self._call("ApplyUpload", apply)
        cert = applied["TempCertificate"]
        cos = CosS3Client(
            CosConfig(
                Region=applied["StorageRegion"],
                SecretId=cert["SecretId"],
                SecretKey=cert["SecretKey"],
                Token=cert["Token"],
                Domain=self.config.endpoint if self.config.scheme == "http" else None,
                Scheme=self.config.scheme,
            )
        )
        with path.open("rb") as fh:
            cos.put_object(
                Bucket=applied["StorageBucket"], Key=applied["MediaStoragePath"], Body=fh
            )
        commit = models.CommitUploadRequest()
        commit.VodSessionKey = applied["VodSessionKey"]
        return str(self._call("CommitUpload", commit)["FileId"])

    def start(self, file_id: str) -> str:
        """ProcessMediaByProcedure: the TaskId."""
        req = models.ProcessMediaByProcedureRequest()
        req.FileId = file_id
        req.ProcedureName = self.config.procedure
        return str(self._call("ProcessMediaByProcedure", req)["TaskId"])

    def task(self, task_id: str) -> dict[str, Any]:
        req = models.DescribeTaskDetailRequest()
        req.TaskId = task_id
        return self._call("DescribeTaskDetail", req)

    def pull(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = (
            self._call("PullEvents", models.PullEventsRequest())["EventSet"] or []
        )
        return events

    def confirm(self, handles: list[str]) -> None:
        req = models.ConfirmEventsRequest()
        req.EventHandles = handles
        self._call("ConfirmEvents", req)
