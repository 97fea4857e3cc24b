"""Sign raw requests the way the SDK does, for tests that craft their own bytes."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.servers import SECRET_ID, SECRET_KEY
from vodflow.api.auth import SignedRequest, sign


def signed_headers(
    action: str,
    body: bytes,
    host: str,
    *,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    timestamp: int | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"content-type": "application/json", "host": host}
    req = SignedRequest("POST", "/", "", headers, body)
    signature = sign(secret_key, req, ["content-type", "host"], ts)
    date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    return {
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": "2018-07-17",
        "X-TC-Timestamp": ts,
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/vod/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
    }


def signed_json(action: str, params: Any, host: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(params).encode()
    return body, signed_headers(action, body, host)
