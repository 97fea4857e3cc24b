"""Signature v1 verification: the SDK's own v1 signatures, and hostile parameters."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from vodflow.api import auth_v1
from vodflow.api.auth import SignedRequest
from vodflow.core.credentials import Credential
from vodflow.errors import VodError

ROOT = Credential(secret_id="AKIDroot", secret_key="rootkey")


async def lookup(secret_id: str) -> Credential | None:
    return ROOT if secret_id == ROOT.secret_id else None


def sdk_v1(method: str, sign_method: str, params: dict[str, object]) -> SignedRequest:
    profile = ClientProfile(
        signMethod=sign_method,
        httpProfile=HttpProfile(endpoint="vod.example:8080", reqMethod=method),
    )
    cred = credential.Credential(ROOT.secret_id, ROOT.secret_key)
    client = CommonClient("vod", "2018-07-17", cred, "", profile)
    req = RequestInternal("vod.example:8080", method, "/")
    client._build_req_with_old_signature("DescribeMediaInfos", params, req, None)
    if method == "GET":
        return SignedRequest("GET", "/", req.data, {"host": "vod.example:8080"}, b"")
    headers = {"host": "vod.example:8080", "content-type": auth_v1.FORM}
    return SignedRequest("POST", "/", "", headers, req.data.encode())


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
async def test_sdk_v1_signatures_verify(method: str, sign_method: str) -> None:
    req = sdk_v1(method, sign_method, {"FileIds": ["a b", "c&d"], "Filters": ["basicInfo"]})
    assert auth_v1.applies(req.method, req.headers, req.query)
    call = await auth_v1.verify(req, lookup, time.time())
    assert call.credential is ROOT
    assert (call.action, call.version) == ("DescribeMediaInfos", "2018-07-17")
    assert call.params == [("FileIds.0", "a b"), ("FileIds.1", "c&d"), ("Filters.0", "basicInfo")]


def test_tc3_requests_are_not_v1() -> None:
    assert not auth_v1.applies("POST", {"authorization": "TC3", "content-type": auth_v1.FORM}, "")
    assert not auth_v1.applies("POST", {"content-type": "application/json"}, "")
    assert not auth_v1.applies("GET", {}, "Limit=1&FileIds.0=x")
    assert auth_v1.applies("GET", {}, "Action=X&Signature=abc")


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "Action",
                    "Version",
                    "SecretId",
                    "Timestamp",
                    "Nonce",
                    "Signature",
                    "Token",
                    "SignatureMethod",
                    "Limit",
                    "a_b",
                    "",
                    "Ü",
                ]
            )
            | st.text(max_size=8),
            st.text(max_size=30) | st.integers().map(str) | st.just(ROOT.secret_id),
        ),
        max_size=12,
    ),
    method=st.sampled_from(["GET", "POST"]),
)
async def test_hostile_parameters_answer_a_tencent_code(
    pairs: list[tuple[str, str]], method: str
) -> None:
    data = urlencode(pairs)
    if method == "GET":
        req = SignedRequest("GET", "/", data, {"host": "h"}, b"")
    else:
        req = SignedRequest(
            "POST", "/", "", {"host": "h", "content-type": auth_v1.FORM}, data.encode()
        )
    with pytest.raises(VodError) as info:
        await auth_v1.verify(req, lookup, time.time())
    assert info.value.code.split(".")[0] in {
        "MissingParameter",
        "InvalidParameter",
        "InvalidParameterValue",
        "AuthFailure",
    }
