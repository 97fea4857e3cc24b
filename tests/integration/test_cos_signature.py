"""COS request signatures: what cos-python-sdk-v5 signs, vodflow verifies."""

from __future__ import annotations

import time

import pytest
import requests
from qcloud_cos import CosConfig
from qcloud_cos.cos_auth import CosS3Auth

from vodflow.api import cos_auth
from vodflow.core.credentials import Credential

CRED = Credential(
    secret_id="AKIDtmpSignatureTest00000000000000001",
    secret_key="signaturetestsecretkey0000000001",
    token="tok",
    scope="cos",
    session_key="s",
    expires_at=time.time() + 3600,
)


async def lookup(secret_id: str) -> Credential | None:
    return CRED if secret_id == CRED.secret_id else None


def signed(
    method: str, key: str, params: dict[str, str], body: bytes = b"", host: str = "127.0.0.1:9000"
) -> cos_auth.CosRequest:
    conf = CosConfig(
        Region="ap-local",
        SecretId=CRED.secret_id,
        SecretKey=CRED.secret_key,
        Token=CRED.token,
        Domain=host,
        Scheme="http",
    )
    url = conf.uri(bucket="b", path=key)
    prepared = requests.Request(
        method, url, params=params, data=body, auth=CosS3Auth(conf, key, params=params)
    ).prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = host
    headers["x-cos-security-token"] = CRED.token or ""
    path, _, query = prepared.url.split(host, 1)[1].partition("?")
    return cos_auth.CosRequest(method=method, raw_path=path, query=query, headers=headers)


@pytest.mark.parametrize(
    ("method", "key", "params"),
    [
        ("PUT", "/upload/abc/x.mp4", {}),
        ("PUT", "/upload/abc/x.mp4", {"partNumber": "3", "uploadId": "u1"}),
        ("POST", "/upload/abc/x.mp4", {"uploads": ""}),
        ("GET", "/upload/abc/x.mp4", {"uploadId": "u1", "max-parts": "1000"}),
        ("PUT", "/upload/abc/na me+ü.mp4", {}),
    ],
)
async def test_sdk_signatures_verify(method: str, key: str, params: dict[str, str]) -> None:
    req = signed(method, key, params, b"body" if method == "PUT" else b"")
    assert await cos_auth.verify(req, lookup, time.time()) is CRED


async def test_tampering_is_refused() -> None:
    req = signed("PUT", "/upload/abc/x.mp4", {"partNumber": "1", "uploadId": "u"}, b"x")
    for changed in (
        cos_auth.CosRequest("PUT", "/upload/abc/y.mp4", req.query, req.headers),
        cos_auth.CosRequest("DELETE", req.raw_path, req.query, req.headers),
        cos_auth.CosRequest("PUT", req.raw_path, "partNumber=2&uploadId=u", req.headers),
        cos_auth.CosRequest("PUT", req.raw_path, req.query, {**req.headers, "content-length": "9"}),
    ):
        with pytest.raises(cos_auth.CosAuthError) as info:
            await cos_auth.verify(changed, lookup, time.time())
        assert info.value.code == "SignatureDoesNotMatch"


async def test_time_token_and_unknown_key() -> None:
    req = signed("PUT", "/upload/abc/x.mp4", {})
    with pytest.raises(cos_auth.CosAuthError) as info:
        await cos_auth.verify(req, lookup, time.time() + 10 * 3600 * 24)
    assert info.value.code in ("RequestTimeTooSkewed", "AccessDenied")
    no_token = dict(req.headers)
    no_token.pop("x-cos-security-token")
    with pytest.raises(cos_auth.CosAuthError) as info:
        await cos_auth.verify(
            cos_auth.CosRequest("PUT", req.raw_path, req.query, no_token), lookup, time.time()
        )
    assert info.value.code == "InvalidToken"
    other = dict(req.headers)
    other["authorization"] = other["authorization"].replace(CRED.secret_id, "AKIDnobody")
    with pytest.raises(cos_auth.CosAuthError) as info:
        await cos_auth.verify(
            cos_auth.CosRequest("PUT", req.raw_path, req.query, other), lookup, time.time()
        )
    assert info.value.code == "InvalidAccessKeyId"
    for bad in ("", "q-sign-algorithm=md5", "x" * 5000):
        with pytest.raises(cos_auth.CosAuthError):
            await cos_auth.verify(
                cos_auth.CosRequest("PUT", "/", "", {"authorization": bad}), lookup, time.time()
            )
