"""TC3 verification against signatures computed as the SDK computes them."""

from __future__ import annotations

import hashlib
import hmac
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


def node_signed(
    cred: Credential, endpoint: str, body: bytes, *, timestamp: int | None = None
) -> SignedRequest:
    """A POST as tencentcloud-sdk-nodejs signs it (common/sign.js `sign3`): the service is
    the first dot-separated label of the endpoint and `host` is signed without the port,
    while the Host header carries it."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    hostname = endpoint.rsplit(":", 1)[0]  # new URL(...).hostname; `[::1]` keeps brackets
    service = endpoint.split(".")[0]
    date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json\nhost:{hostname}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            ts,
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + cred.secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "host": endpoint,
        "x-tc-timestamp": ts,
        "authorization": (
            f"TC3-HMAC-SHA256 Credential={cred.secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
    }
    return SignedRequest("POST", "/", "", headers, body)


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:8080", "vod.internal.example:9000", "localhost:8080", "[::1]:8080"]
)
async def test_node_sdk_signature_at_any_host_port(endpoint: str) -> None:
    req = node_signed(ROOT, endpoint, b'{"Limit":3}')
    assert await verify(req, lookup, time.time()) is ROOT


async def test_signed_host_with_another_name_is_refused_naming_what_was_compared() -> None:
    req = node_signed(ROOT, "127.0.0.1:8080", b"{}")
    moved = SignedRequest("POST", "/", "", {**req.headers, "host": "127.0.0.2:8080"}, b"{}")
    with pytest.raises(VodError) as info:
        await verify(moved, lookup, time.time())
    assert info.value.code == "AuthFailure.SignatureFailure"
    message = info.value.message
    assert "host `127.0.0.2:8080` or `127.0.0.2`" in message
    assert "scope " + time.strftime("%Y-%m-%d", time.gmtime()) + "/127/tc3_request" in message
    assert "a body of 2 bytes" in message and "timestamp" not in message


async def test_scope_date_mismatch_names_both_dates() -> None:
    now = int(time.time())
    req = sdk_signed(ROOT, {})
    stale = req.headers["authorization"].replace(
        time.strftime("%Y-%m-%d", time.gmtime(now)), "2001-01-01"
    )
    with pytest.raises(VodError) as info:
        await verify(
            SignedRequest("POST", "/", "", {**req.headers, "authorization": stale}, req.body),
            lookup,
            time.time(),
        )
    assert info.value.code == "AuthFailure.SignatureFailure"
    assert info.value.message.startswith("The credential scope date 2001-01-01 is not ")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"authorization": ""}, "The Authorization header is missing"),
        ({"authorization": "TC3-HMAC-SHA256 nonsense"}, "The Authorization header is malformed"),
        ({"x-tc-timestamp": ""}, "The X-TC-Timestamp header is missing."),
        ({"x-tc-timestamp": "soon"}, "X-TC-Timestamp `soon` is not a Unix time in seconds."),
    ],
)
async def test_malformed_headers_name_the_header(change: dict[str, str], expected: str) -> None:
    req = sdk_signed(ROOT, {})
    with pytest.raises(VodError) as info:
        await verify(SignedRequest("POST", "/", "", {**req.headers, **change}, req.body), lookup, 0)
    assert info.value.code == "AuthFailure.InvalidAuthorization"
    assert info.value.message.startswith(expected)


async def test_signed_headers_without_host_names_it() -> None:
    req = sdk_signed(ROOT, {})
    auth = req.headers["authorization"].replace("content-type;host", "content-type")
    with pytest.raises(VodError) as info:
        await verify(
            SignedRequest("POST", "/", "", {**req.headers, "authorization": auth}, req.body),
            lookup,
            time.time(),
        )
    assert info.value.message.startswith("SignedHeaders `content-type` lacks host")
