"""One application of an ephemeral vodflow: what a test works in."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vodflow.testing.events import PullWaiter, PushReceiver
from vodflow.testing.faults import Faults

if TYPE_CHECKING:
    from qcloud_cos import CosS3Client
    from tencentcloud.vod.v20180717.vod_client import VodClient

    from vodflow.testing.calls import Endpoint


class VodflowApp:
    """A fresh application (SubAppId) on a running server, and helpers scoped to it.

    Every call made through `call` carries this application's SubAppId, so tests that
    share one server never see each other's media, tasks, events or fault rules.
    """

    def __init__(self, server: Endpoint, sub_app_id: int) -> None:
        self.server = server
        self.sub_app_id = sub_app_id
        self.faults = Faults(self)
        self._events: PullWaiter | None = None
        self._receivers: list[PushReceiver] = []

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Any action (Tencent's or vodflow's) in this application; its Response."""
        return self.server.call(action, {"SubAppId": self.sub_app_id, **(params or {})})

    def vod(self, **http: Any) -> VodClient:
        """The official SDK's VodClient (set `req.SubAppId = app.sub_app_id` on requests)."""
        return self.server.vod(**http)

    def cos(self, applied: Mapping[str, Any]) -> CosS3Client:
        """cos-python-sdk-v5 with an ApplyUpload answer's temporary credential."""
        from qcloud_cos import CosConfig, CosS3Client

        logging.getLogger("qcloud_cos").setLevel(logging.WARNING)
        cert = applied["TempCertificate"]
        config = CosConfig(
            Region=applied["StorageRegion"],
            SecretId=cert["SecretId"],
            SecretKey=cert["SecretKey"],
            Token=cert["Token"],
            Domain=self.server.host,
            Scheme=self.server.scheme,
        )
        return CosS3Client(config, retry=0)

    def upload(self, path: Path | str, **params: Any) -> dict[str, Any]:
        """ApplyUpload, PUT the bytes with the COS SDK, CommitUpload: CommitUpload's
        Response (FileId, MediaUrl...). `params` go to ApplyUpload (Procedure, ...)."""
        path = Path(path)
        media_type = params.pop("MediaType", path.suffix.lstrip(".") or "mp4")
        applied = self.call("ApplyUpload", {"MediaType": media_type, **params})
        with path.open("rb") as fh:
            self.cos(applied).put_object(
                Bucket=applied["StorageBucket"], Key=applied["MediaStoragePath"], Body=fh
            )
        return self.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})

    @property
    def events(self) -> PullWaiter:
        """Waits for events by PullEvents (and confirms what it reads)."""
        if self._events is None:
            self._events = PullWaiter(self)
        return self._events

    def push_receiver(self, sign_key: str = "", *, configure: bool = True) -> PushReceiver:
        """An HTTP receiver on loopback; with `configure`, this application's events are
        sent to it (ModifyEventConfig Mode=PUSH, and SignKey when given)."""
        receiver = PushReceiver(sign_key).start()
        self._receivers.append(receiver)
        if configure:
            params: dict[str, Any] = {"Mode": "PUSH", "NotificationUrl": receiver.url}
            if sign_key:
                params["SignKey"] = sign_key
            self.call("ModifyEventConfig", params)
        return receiver

    def close(self) -> None:
        """Stop the receivers this application started."""
        for receiver in self._receivers:
            receiver.stop()
        self._receivers.clear()
