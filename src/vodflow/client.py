"""The official SDK, configured for a vodflow endpoint: what the CLI commands use.

The CLI goes through the public API like any app would, so it needs an endpoint
and credentials: flags, then VODFLOW_* variables, then the credentials file that
`vodflow serve` wrote into the data directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from vodflow.credentials_file import read_saved

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
NETWORK_CODES = {"ClientNetworkError"}


def network_reason(message: str) -> str:
    """The useful end of urllib3's long story: 'Connection refused', a TLS complaint..."""
    lowered = message.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("certificate verify failed", "the server's TLS certificate is not trusted"),
        ("wrong version number", "TLS spoken to a plain HTTP server (use http://)"),
        ("timed out", "timed out"),
        ("name or service not known", "unknown host name"),
        ("nodename nor servname", "unknown host name"),
        ("connection reset", "connection reset"),
        ("remote end closed", "the server closed the connection"),
    ):
        if needle in lowered:
            return reason
    return " ".join(message.split())[:200]


class ClientError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class VodApi:
    """Calls actions by name and returns the Response object as a dict."""

    def __init__(
        self,
        endpoint: str | None = None,
        secret_id: str | None = None,
        secret_key: str | None = None,
        data_dir: Path | None = None,
        timeout: int = 60,
        ca_bundle: Path | None = None,
    ) -> None:
        endpoint = endpoint or os.environ.get("VODFLOW_ENDPOINT") or DEFAULT_ENDPOINT
        scheme, _, host = endpoint.rpartition("://")
        secret_id = secret_id or os.environ.get("VODFLOW_SECRET_ID")
        secret_key = secret_key or os.environ.get("VODFLOW_SECRET_KEY")
        if not (secret_id and secret_key):
            saved = read_saved(data_dir or Path(os.environ.get("VODFLOW_DATA_DIR", "vodflow-data")))
            if saved is None:
                raise ClientError(
                    "AuthFailure.SecretIdNotFound",
                    "No credentials: pass --secret-id/--secret-key, set VODFLOW_SECRET_ID and "
                    "VODFLOW_SECRET_KEY, or run from the directory holding vodflow-data/.",
                )
            secret_id, secret_key = saved
        self.endpoint = endpoint
        self.host = host
        self.scheme = scheme or "http"
        self.secret_id = secret_id
        self.secret_key = secret_key
        # The CA of an HTTPS server with a private certificate: the SDK (and the COS
        # SDK, as VerifySSL) otherwise trust only certifi's bundle.
        bundle = ca_bundle or os.environ.get("VODFLOW_CA_BUNDLE") or None
        if bundle is not None and not Path(bundle).is_file():
            raise ClientError("InvalidParameter", f"The CA bundle {bundle} is not a file.")
        self.verify: str | bool = str(bundle) if bundle else True
        profile = ClientProfile(
            httpProfile=HttpProfile(
                protocol=self.scheme,
                endpoint=host,
                reqTimeout=timeout,
                certification=str(bundle) if bundle else None,
            )
        )
        self._client = CommonClient(
            "vod", "2018-07-17", credential.Credential(secret_id, secret_key), "", profile
        )

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self._client.call_json(action, params)
        except TencentCloudSDKException as exc:
            code = exc.get_code() or "ClientError"
            message = exc.get_message() or ""
            if code in NETWORK_CODES:
                message = (
                    f"cannot reach vodflow at {self.endpoint} ({network_reason(message)}); "
                    "is `vodflow serve` running there? (--endpoint or VODFLOW_ENDPOINT)"
                )
            elif code == "ServerNetworkError":
                message = f"vodflow at {self.endpoint} answered: {' '.join(message.split())[:200]}"
            raise ClientError(code, message) from exc
        response: dict[str, Any] = answer["Response"]
        return response


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
