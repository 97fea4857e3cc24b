"""Signature v1 (HmacSHA1 / HmacSHA256), through the Python SDK's own v1 mode.

`ClientProfile(signMethod="HmacSHA1" | "HmacSHA256")` makes the SDK put every parameter,
the common ones included, into the query (GET) or a form body (POST) and sign the
sorted parameters. The refusals are checked with requests the SDK built and signed,
then changed; an old or re-dated request is signed here as Tencent documents it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.servers import APP_ID, SECRET_ID, SECRET_KEY, ServerProcess

pytestmark = pytest.mark.e2e

METHODS = [
    ("HmacSHA1", "GET"),
    ("HmacSHA1", "POST"),
    ("HmacSHA256", "GET"),
    ("HmacSHA256", "POST"),
]
NAME = "v1 a&b=c+d %2F/é 中"  # every character urlencoding changes


@pytest.fixture(scope="module")
def v1_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("v1")).start()
    yield srv
    srv.stop()


def v1_client(
    server: ServerProcess,
    sign_method: str,
    method: str,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    token: str | None = None,
) -> CommonClient:
    profile = ClientProfile(
        signMethod=sign_method,
        httpProfile=HttpProfile(protocol="http", endpoint=server.host, reqMethod=method),
    )
    cred = credential.Credential(secret_id, secret_key, token)
    return CommonClient("vod", "2018-07-17", cred, "", profile)


def error(client: CommonClient, action: str, params: dict[str, Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json(action, params)
    return info.value


@pytest.mark.parametrize(("sign_method", "method"), METHODS)
def test_sdk_v1_mode_calls_actions(v1_server: ServerProcess, sign_method: str, method: str) -> None:
    client = v1_client(v1_server, sign_method, method)
    listed = client.call_json("DescribeSubAppIds", {})["Response"]
    assert APP_ID in [a["SubAppId"] for a in listed["SubAppIdInfoSet"]]

    # Nested objects and lists travel flattened (`VideoTemplate.Codec`, `Definitions.0`).
    created = client.call_json(
        "CreateTranscodeTemplate",
        {
            "Container": "mp4",
            "Name": f"{sign_method}-{method}",
            "Comment": NAME,
            "VideoTemplate": {"Codec": "libx264", "Fps": 24, "Bitrate": 800, "Height": 720},
            "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100},
        },
    )["Response"]
    definition = created["Definition"]
    # Read back through TC3: what v1 wrote is exactly what was sent.
    (template,) = v1_server.call("DescribeTranscodeTemplates", {"Definitions": [definition]})[
        "TranscodeTemplateSet"
    ]
    assert template["Name"] == f"{sign_method}-{method}"
    assert template["Comment"] == NAME
    assert template["VideoTemplate"]["Height"] == 720
    assert template["AudioTemplate"]["SampleRate"] == 44100
    read = client.call_json("DescribeTranscodeTemplates", {"Definitions": [100010, definition]})
    listed_defs = [t["Definition"] for t in read["Response"]["TranscodeTemplateSet"]]
    assert listed_defs == ["100010", str(definition)]
    # Errors of the action itself arrive as with TC3.
    err = error(client, "DescribeTaskDetail", {"TaskId": "nope"})
    assert err.get_code() == "InvalidParameterValue.TaskId"


def test_v1_requests_counted_under_their_action(v1_server: ServerProcess) -> None:
    def count() -> float:
        text = httpx.get(v1_server.url + "/metrics").text
        found = re.search(
            r'^vodflow_api_requests_total\{action="DescribeTaskDetail",'
            r'code="InvalidParameterValue.TaskId"\} (\S+)$',
            text,
            re.M,
        )
        return float(found.group(1)) if found else 0.0

    before = count()
    client = v1_client(v1_server, "HmacSHA1", "GET")
    error(client, "DescribeTaskDetail", {"TaskId": "nope"})
    assert count() == before + 1


@pytest.mark.parametrize(("sign_method", "method"), METHODS)
def test_sdk_v1_mode_with_temporary_credential(
    v1_server: ServerProcess, sign_method: str, method: str
) -> None:
    creds = v1_server.call("CreateTempCredential", {"DurationSeconds": 600})["Credentials"]
    tmp_id, tmp_key, token = creds["TmpSecretId"], creds["TmpSecretKey"], creds["Token"]
    # A temporary credential cannot manage applications: read the event config instead.
    client = v1_client(v1_server, sign_method, method, tmp_id, tmp_key, token)
    assert client.call_json("DescribeEventConfig", {})["Response"]["Mode"]
    wrong = v1_client(v1_server, sign_method, method, tmp_id, tmp_key, "not-the-token")
    assert error(wrong, "DescribeEventConfig", {}).get_code() == "AuthFailure.TokenFailure"
    missing = v1_client(v1_server, sign_method, method, tmp_id, tmp_key)
    assert error(missing, "DescribeEventConfig", {}).get_code() == "AuthFailure.TokenFailure"


@pytest.mark.parametrize(("sign_method", "method"), METHODS)
def test_sdk_v1_wrong_key_and_unknown_secret_id(
    v1_server: ServerProcess, sign_method: str, method: str
) -> None:
    bad_key = v1_client(v1_server, sign_method, method, secret_key="not-the-key")
    err = error(bad_key, "DescribeSubAppIds", {})
    assert err.get_code() == "AuthFailure.SignatureFailure"
    # The message shows the string vodflow signed, so a client author can compare.
    assert f"`{method}{v1_server.host}/?Action=DescribeSubAppIds&" in err.get_message()
    assert sign_method in err.get_message()
    unknown = v1_client(v1_server, sign_method, method, secret_id="AKIDnobody")
    assert error(unknown, "DescribeSubAppIds", {}).get_code() == "AuthFailure.SecretIdNotFound"


# --- requests the SDK signed, then changed ------------------------------------------------


def sdk_v1_params(
    server: ServerProcess, sign_method: str, method: str, action: str, params: dict[str, Any]
) -> dict[str, str]:
    """The parameters the SDK would send, Signature included."""
    client = v1_client(server, sign_method, method)
    req = RequestInternal(server.host, method, "/")
    client._build_req_with_old_signature(action, params, req, None)
    return dict(parse_qsl(req.data, keep_blank_values=True))


def send(server: ServerProcess, method: str, params: dict[str, str] | list[tuple[str, str]]) -> Any:
    data = urlencode(params)
    if method == "GET":
        answer = httpx.get(f"{server.url}/?{data}")
    else:
        answer = httpx.post(
            f"{server.url}/",
            content=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    return answer.json()["Response"]


def resign(server: ServerProcess, method: str, params: dict[str, str]) -> dict[str, str]:
    """Sign `params` again as Tencent's v1 documentation says (not with vodflow's code)."""
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    text = f"{method}{server.host}/?" + "&".join(f"{k}={unsigned[k]}" for k in sorted(unsigned))
    digest = hashlib.sha256 if params.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    mac = hmac.new(SECRET_KEY.encode(), text.encode(), digest).digest()
    return {**unsigned, "Signature": base64.b64encode(mac).decode()}


@pytest.mark.parametrize(("sign_method", "method"), METHODS)
def test_timestamp_window(v1_server: ServerProcess, sign_method: str, method: str) -> None:
    params = sdk_v1_params(v1_server, sign_method, method, "DescribeSubAppIds", {})
    assert "SubAppIdInfoSet" in send(v1_server, method, params)
    old = resign(v1_server, method, {**params, "Timestamp": str(int(time.time()) - 301)})
    answer = send(v1_server, method, old)
    assert answer["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert "more than 300 s from server time" in answer["Error"]["Message"]
    future = resign(v1_server, method, {**params, "Timestamp": str(int(time.time()) + 400)})
    assert send(v1_server, method, future)["Error"]["Code"] == "AuthFailure.SignatureExpire"
    recent = resign(v1_server, method, {**params, "Timestamp": str(int(time.time()) - 200)})
    assert "SubAppIdInfoSet" in send(v1_server, method, recent)


@pytest.mark.parametrize(("sign_method", "method"), METHODS)
def test_changed_after_signing(v1_server: ServerProcess, sign_method: str, method: str) -> None:
    params = sdk_v1_params(
        v1_server, sign_method, method, "DescribeTranscodeTemplates", {"Definitions": [10]}
    )
    for change in ({"Definitions.0": "20"}, {"Nonce": "12345"}, {"Limit": "1"}):
        answer = send(v1_server, method, {**params, **change})
        assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure", change
    # The other method than the one signed.
    other = "POST" if method == "GET" else "GET"
    assert send(v1_server, other, params)["Error"]["Code"] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("missing", ["Nonce", "Timestamp", "SecretId", "Signature", "Action"])
def test_missing_common_parameter(v1_server: ServerProcess, missing: str) -> None:
    params = sdk_v1_params(v1_server, "HmacSHA256", "POST", "DescribeSubAppIds", {})
    params.pop(missing)
    answer = send(v1_server, "POST", params)
    assert answer["Error"]["Code"] == "MissingParameter"
    assert answer["Error"]["Message"] == (
        f"The request is missing {missing} (signature v1 parameters)."
    )


def test_missing_version_is_missing_parameter(v1_server: ServerProcess) -> None:
    params = sdk_v1_params(v1_server, "HmacSHA256", "GET", "DescribeSubAppIds", {})
    params.pop("Version")
    assert send(v1_server, "GET", params)["Error"]["Code"] == "MissingParameter"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Nonce", "abc"),
        ("Nonce", "0"),
        ("Nonce", "1" * 21),
        ("Timestamp", "-5"),
        ("Timestamp", "1.5"),
    ],
)
def test_malformed_nonce_and_timestamp(v1_server: ServerProcess, field: str, value: str) -> None:
    params = sdk_v1_params(v1_server, "HmacSHA1", "POST", "DescribeSubAppIds", {})
    answer = send(v1_server, "POST", resign(v1_server, "POST", {**params, field: value}))
    assert answer["Error"]["Code"] == "InvalidParameterValue"
    assert answer["Error"]["Message"].startswith(f"{field} `{value[:32]}` must be a positive")


def test_wrong_version_and_unknown_action(v1_server: ServerProcess) -> None:
    params = sdk_v1_params(v1_server, "HmacSHA1", "GET", "DescribeSubAppIds", {})
    answer = send(v1_server, "GET", resign(v1_server, "GET", {**params, "Version": "2017-01-01"}))
    assert answer["Error"]["Code"] == "NoSuchVersion"
    answer = send(v1_server, "GET", resign(v1_server, "GET", {**params, "Action": "Nope"}))
    assert answer["Error"]["Code"] == "InvalidAction"


def test_duplicate_parameter_and_query_on_form_post(v1_server: ServerProcess) -> None:
    params = sdk_v1_params(v1_server, "HmacSHA1", "POST", "DescribeSubAppIds", {})
    twice = [*params.items(), ("Nonce", params["Nonce"])]
    answer = send(v1_server, "POST", twice)
    assert answer["Error"]["Code"] == "InvalidParameter"
    assert "`Nonce` is given twice" in answer["Error"]["Message"]
    answer = httpx.post(
        f"{v1_server.url}/?Limit=1",
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).json()["Response"]
    assert answer["Error"]["Code"] == "InvalidParameter"


def test_signed_host_with_or_without_port(v1_server: ServerProcess, tmp_path: Path) -> None:
    """A v1 client that signs the host name alone (as Node.js signs TC3) is accepted too."""
    params = sdk_v1_params(v1_server, "HmacSHA256", "GET", "DescribeSubAppIds", {})
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    text = "GET127.0.0.1/?" + "&".join(f"{k}={unsigned[k]}" for k in sorted(unsigned))
    mac = hmac.new(SECRET_KEY.encode(), text.encode(), hashlib.sha256).digest()
    portless = {**unsigned, "Signature": base64.b64encode(mac).decode()}
    assert "SubAppIdInfoSet" in send(v1_server, "GET", portless)
    text = "GET127.0.0.2/?" + "&".join(f"{k}={unsigned[k]}" for k in sorted(unsigned))
    mac = hmac.new(SECRET_KEY.encode(), text.encode(), hashlib.sha256).digest()
    other = {**unsigned, "Signature": base64.b64encode(mac).decode()}
    assert send(v1_server, "GET", other)["Error"]["Code"] == "AuthFailure.SignatureFailure"
