"""The HTTP edge of `/`: methods, sizes, nesting and queries answer Tencent's envelope.

Tencent's API takes POST (JSON, TC3 bodies up to 10 MB) and GET (queries up to 32 KB);
anything else is a documented error code in the usual envelope, never a text/plain
405, a 500 or InternalError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.servers import SECRET_ID, SECRET_KEY
from tests.signing import signed_headers
from vodflow import metrics
from vodflow.api.auth import SignedRequest, sign
from vodflow.app import build_services, create_app
from vodflow.config import Settings

HOST = "testserver"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    cfg = Settings(
        data_dir=tmp_path_factory.mktemp("protocol"),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        rate_limit=0,
    )
    with TestClient(create_app(cfg), base_url=f"http://{HOST}") as client:
        yield client


def envelope(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    inner = response.json()["Response"]
    assert len(inner["RequestId"]) == 36
    return inner  # type: ignore[no-any-return]


def code(response: Any) -> str:
    return envelope(response).get("Error", {}).get("Code", "OK")  # type: ignore[no-any-return]


def post(app: TestClient, action: str, body: bytes) -> Any:
    return app.post("/", content=body, headers=signed_headers(action, body, HOST))


def get(app: TestClient, action: str, query: str) -> Any:
    ts = str(int(time.time()))
    ctype = "application/x-www-form-urlencoded"
    headers = {"content-type": ctype, "host": HOST}
    signature = sign(
        SECRET_KEY, SignedRequest("GET", "/", query, headers, b""), ["content-type", "host"], ts
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    return app.get(
        "/?" + query,
        headers={
            "Content-Type": ctype,
            "X-TC-Action": action,
            "X-TC-Version": "2018-07-17",
            "X-TC-Timestamp": ts,
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/vod/tc3_request, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            ),
        },
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_answer_unsupported_protocol(app: TestClient, method: str) -> None:
    body = b"{}"
    response = app.request(
        method, "/", content=body, headers=signed_headers("DescribeSubAppIds", body, HOST)
    )
    inner = envelope(response)
    assert inner["Error"]["Code"] == "UnsupportedProtocol"
    assert method in inner["Error"]["Message"]


def test_bodies_up_to_10_mb_are_read(app: TestClient) -> None:
    # CoverData of ~9.9 MB: the body is read and validated (the file does not exist).
    cover = "A" * (10 * 1024 * 1024 - 200)
    body = json.dumps({"FileId": "5285890784246869930", "CoverData": cover}).encode()
    assert len(body) <= 10 * 1024 * 1024
    assert code(post(app, "ModifyMediaInfo", body)) == "ResourceNotFound.FileNotExist"


def test_bodies_over_10_mb_answer_request_size_limit_exceeded(app: TestClient) -> None:
    body = json.dumps({"FileId": "1", "CoverData": "A" * (10 * 1024 * 1024)}).encode()
    assert code(post(app, "ModifyMediaInfo", body)) == "RequestSizeLimitExceeded"


@pytest.mark.parametrize("depth", [33, 2000, 200_000])
def test_deep_json_nesting_is_invalid_parameter(app: TestClient, depth: int) -> None:
    body = ('{"Name":' + "[" * depth + "]" * depth + "}").encode()
    inner = envelope(post(app, "DescribeSubAppIds", body))
    assert inner["Error"]["Code"] == "InvalidParameter"
    assert "deeper than 32 levels" in inner["Error"]["Message"]


def test_get_query_reads_documented_types(app: TestClient) -> None:
    # Text is all a query carries: Limit=5 is the integer 5 there.
    inner = envelope(get(app, "DescribeSubAppIds", "Limit=5&Offset=0"))
    assert "Error" not in inner and inner["TotalCount"] >= 1
    assert code(get(app, "DescribeSubAppIds", "Limit=five")) == "InvalidParameter"
    assert code(get(app, "DescribeSubAppIds", "Limit=500")) == "InvalidParameterValue.Limit"
    assert code(get(app, "DescribeSubAppIds", "Foo=1")) == "UnknownParameter"


def test_get_with_thousands_of_fields_is_a_documented_error(app: TestClient) -> None:
    query = "&".join(f"F{i}=1" for i in range(3000))
    assert code(get(app, "DescribeSubAppIds", query)) == "InvalidParameter"


def test_get_over_32_kb_answers_request_size_limit_exceeded(app: TestClient) -> None:
    query = "Name=" + "a" * (33 * 1024)
    assert code(get(app, "DescribeSubAppIds", query)) == "RequestSizeLimitExceeded"


@pytest.mark.parametrize(
    "query",
    [
        "%",
        "%zz=1",
        "Name=%ff%fe",
        "a..b=1",
        ".=1",
        "Name.0.=1",
        "=1",
        "&&&",
        "Name=%00",
        "x" * 2000,
    ],
)
def test_malformed_queries_answer_a_documented_error(app: TestClient, query: str) -> None:
    assert code(get(app, "DescribeSubAppIds", query)) in {
        "OK",
        "InvalidParameter",
        "InvalidParameterValue.Name",
        "UnknownParameter",
    }


@pytest.mark.parametrize("path", ["/?%", "/?%zz", "/?a=%ff", "//", "/?" + "&" * 5000])
def test_unsigned_malformed_urls_answer_the_envelope(app: TestClient, path: str) -> None:
    inner = envelope(app.get(path, headers={"X-TC-Action": "DescribeSubAppIds"}))
    assert inner["Error"]["Code"].startswith(("AuthFailure", "InvalidParameter", "RequestSize"))


@pytest.mark.parametrize(
    ("action", "params", "expected"),
    [
        ("DescribeSubAppIds", {"Offset": 2**63}, "InvalidParameterValue.Offset"),
        ("DescribeTasks", {"SubAppId": 2**63}, "InvalidParameterValue.SubAppId"),
        ("DescribeTasks", {"SubAppId": 2**70}, "InvalidParameterValue.SubAppId"),
        ("DeleteTranscodeTemplate", {"Definition": 2**63}, "InvalidParameterValue.Definition"),
        (
            "DescribeTranscodeTemplates",
            {"Definitions": [2**64]},
            "InvalidParameterValue.Definitions",
        ),
        ("DescribeTranscodeTemplates", {"Offset": 2**63}, "InvalidParameterValue.Offset"),
        ("SearchMedia", {"ClassIds": [2**63]}, "InvalidParameterValue.ClassIds"),
        ("RedeliverEvents", {"EventIds": [2**63]}, "InvalidParameterValue"),
        ("ConfirmEvents", {"EventHandles": ["0" * 16 + "f" * 48]}, "InvalidParameterValue"),
        ("ConfirmEvents", {"EventHandles": ["0" * 16 + "8" + "0" * 15]}, "InvalidParameterValue"),
    ],
)
def test_integers_past_64_bits_answer_the_field_s_code(
    app: TestClient, action: str, params: dict[str, Any], expected: str
) -> None:
    """2^63 and more once crashed SQLite (InternalError); now the field's own code."""
    assert code(post(app, action, json.dumps(params).encode())) == expected


async def test_a_client_gone_mid_body_is_answered_499_and_counted(tmp_path: Path) -> None:
    """`POST /` goes straight to the API (app.VodflowApp): a client that disconnects
    while sending its body gets no envelope (499, empty), and the request is counted
    as ClientDisconnect, not InternalError."""
    cfg = Settings(data_dir=tmp_path / "data", secret_id=SECRET_ID, secret_key=SECRET_KEY)
    asgi = create_app(cfg)
    services = await build_services(cfg)
    asgi.state.services = services  # no lifespan: nothing in the background is needed
    headers = signed_headers("DescribeEventsState", b"{}", HOST)
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5555),
        "server": (HOST, 80),
    }
    incoming = [
        {"type": "http.request", "body": b'{"Sub', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    counted = metrics.REQUESTS.labels("DescribeEventsState", "ClientDisconnect")
    failed = metrics.REQUESTS.labels("DescribeEventsState", "InternalError")
    before, failed_before = counted._value.get(), failed._value.get()
    try:
        await asgi(scope, receive, send)
    finally:
        await services.db.close()
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 499
    assert sent[1]["body"] == b""
    assert counted._value.get() == before + 1
    assert failed._value.get() == failed_before
