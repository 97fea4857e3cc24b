"""Replayed TC3 signatures (issue 12 item 17): a captured non-idempotent request
cannot be sent again within Tencent's 5-minute window."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess
from tests.signing import signed_headers

pytestmark = pytest.mark.e2e

GRACE_S = 0.3


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose replay grace is short, so a test need not wait 5 s."""
    srv = ServerProcess(
        tmp_path_factory.mktemp("replay"), env={"VODFLOW_REPLAY_GRACE_S": str(GRACE_S)}
    )
    yield srv.start()
    srv.stop()


def send(server: ServerProcess, action: str, body: bytes, headers: dict[str, str]) -> Any:
    headers = {**headers, "X-TC-Action": action}
    answer = httpx.post(server.url + "/", content=body, headers=headers, timeout=30)
    return answer.json()["Response"]


def app_names(server: ServerProcess) -> list[str]:
    infos = server.call("DescribeSubAppIds", {"Limit": 200})["SubAppIdInfoSet"]
    return [i["Name"] for i in infos]


def after_grace() -> None:
    time.sleep(GRACE_S * 2)


def test_a_replayed_create_is_refused_and_runs_once(guarded: ServerProcess) -> None:
    name = f"replay-{time.time_ns()}"
    body = json.dumps({"Name": name}).encode()
    headers = signed_headers("CreateSubAppId", body, guarded.host)
    first = send(guarded, "CreateSubAppId", body, headers)
    assert first["SubAppId"] > 0
    after_grace()
    again = send(guarded, "CreateSubAppId", body, headers)
    assert again["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert "replay" in again["Error"]["Message"]
    assert app_names(guarded).count(name) == 1
    # Signed anew (another timestamp), the same parameters are a new request.
    resigned = signed_headers("CreateSubAppId", body, guarded.host, timestamp=int(time.time()) - 7)
    assert send(guarded, "CreateSubAppId", body, resigned)["SubAppId"] != first["SubAppId"]
    assert app_names(guarded).count(name) == 2


def test_a_read_signature_cannot_be_replayed_as_a_create(guarded: ServerProcess) -> None:
    """The SDKs do not sign X-TC-Action: the bytes of a harmless call, captured, are
    refused under a non-idempotent action."""
    name = f"captured-{time.time_ns()}"
    body = json.dumps({"Name": name}).encode()
    headers = signed_headers("DescribeSubAppIds", body, guarded.host)
    assert send(guarded, "DescribeSubAppIds", body, headers)["TotalCount"] == 0
    after_grace()
    # Read-only actions may be repeated.
    assert send(guarded, "DescribeSubAppIds", body, headers)["TotalCount"] == 0
    refused = send(guarded, "CreateSubAppId", body, headers)
    assert refused["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert name not in app_names(guarded)


def test_session_id_requests_keep_their_own_code(guarded: ServerProcess) -> None:
    """A SessionId already makes a repeat fail: the action's code stays the answer."""
    params = {"MediaUrl": "http://127.0.0.1:9/a.mp4", "SessionId": f"s-{time.time_ns()}"}
    body = json.dumps(params).encode()
    headers = signed_headers("PullUpload", body, guarded.host)
    assert send(guarded, "PullUpload", body, headers)["TaskId"]
    after_grace()
    again = send(guarded, "PullUpload", body, headers)
    assert again["Error"]["Code"] == "InvalidParameterValue.SessionId"


def test_same_second_twins_are_not_replays(server: ServerProcess) -> None:
    """The SDK signs with a one-second timestamp: identical calls in one second carry
    one signature, and each is honoured (default grace 5 s)."""
    name = f"twins-{time.time_ns()}"
    body = json.dumps({"Name": name}).encode()
    headers = signed_headers("CreateSubAppId", body, server.host)
    ids = {send(server, "CreateSubAppId", body, headers)["SubAppId"] for _ in range(3)}
    assert len(ids) == 3
    assert app_names(server).count(name) == 3
