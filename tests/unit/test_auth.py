"""TC3 verification against signatures computed as the SDK computes them."""

from __future__ import annotations

import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from vodflow.api.auth import SignedRequest, verify
from vodflow.core.credentials import Credential
from vodflow.errors import VodError

ROOT = Credential(secret_id="AKIDroot", secret_key="rootkey")
TEMP = Credential(
    secret_id="AKIDtmp1", secret_key="tmpkey", token="tok", expires_at=time.time() + 86400
)
COS = Credential(secret_id="AKIDcos1", secret_key="coskey", token="t", scope="cos")


async def lookup(secret_id: str) -> Credential | None:
    return {c.secret_id: c for c in (ROOT, TEMP, COS)}.get(secret_id)


def sdk_signed(cred: Credential, params: dict[str, object], method: str = "POST") -> SignedRequest:
    """Let the SDK itself build and sign a request, then capture it."""
    sdk_cred = credential.Credential(cred.secret_id, cred.secret_key, cred.token)
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="vod.example:8080", reqMethod=method))
    client = CommonClient("vod", "2018-07-17", sdk_cred, "", profile)
    req = RequestInternal("vod.example:8080", method, "/")
    client._build_req_with_tc3_signature("DescribeSubAppIds", params, req)
    headers = {k.lower(): v for k, v in req.header.items()}
    data = req.data if isinstance(req.data, bytes) else str(req.data).encode()
    if method == "GET":
        return SignedRequest("GET", "/", req.data, headers, b"")
    return SignedRequest("POST", "/", "", headers, data)


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_sdk_signatures_verify(method: str) -> None:
    req = sdk_signed(ROOT, {"Limit": 3, "Name": "a b&c"}, method)
    assert await verify(req, lookup, time.time()) is ROOT


async def test_temporary_credential_needs_its_token() -> None:
    req = sdk_signed(TEMP, {})
    assert await verify(req, lookup, time.time()) is TEMP
    tampered = SignedRequest(
        req.method, req.path, req.query, {**req.headers, "x-tc-token": "no"}, req.body
    )
    with pytest.raises(VodError, match="TokenFailure"):
        await verify(tampered, lookup, time.time())


async def test_cos_scoped_credential_cannot_call_the_api() -> None:
    with pytest.raises(VodError) as info:
        await verify(sdk_signed(COS, {}), lookup, time.time())
    assert info.value.code == "AuthFailure.SecretIdNotFound"


async def test_tampered_body_and_clock() -> None:
    req = sdk_signed(ROOT, {"Limit": 3})
    changed = SignedRequest("POST", "/", "", req.headers, req.body.replace(b"3", b"4"))
    with pytest.raises(VodError) as info:
        await verify(changed, lookup, time.time())
    assert info.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(VodError) as info:
        await verify(req, lookup, time.time() + 301)
    assert info.value.code == "AuthFailure.SignatureExpire"
    assert await verify(req, lookup, time.time() + 200) is ROOT


async def test_expired_temporary_credential() -> None:
    old = Credential("AKIDold", "k", token="t", expires_at=time.time() - 1)

    async def only_old(_: str) -> Credential:
        return old

    with pytest.raises(VodError) as info:
        await verify(sdk_signed(old, {}), only_old, time.time())
    assert info.value.code == "AuthFailure.TokenFailure"
