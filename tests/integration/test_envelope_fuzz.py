"""Random bodies and headers at `POST /`: always a well-formed envelope, never a 500.

The fuzzed server is a real `vodflow serve` process, reached over HTTP with a
client timeout on every request: hypothesis checks its deadline only once a call
returns, so without the timeout a hung request would block the suite forever.
Internal failures are provoked in-process, where the log can be read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.signing import signed_headers
from vodflow.api import registry
from vodflow.api.registry import ACTIONS, Context, load_all
from vodflow.app import create_app
from vodflow.config import Settings
from vodflow.wire.common import Request

REQUEST_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"VODFLOW_RATE_LIMIT": "0", "VODFLOW_PULL_WAIT_S": "0.05", "VODFLOW_WORKERS": "1"}
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz"), env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(fuzzed: ServerProcess) -> Iterator[httpx.Client]:
    # Every request of the fuzz goes through this client: none can wait forever.
    with httpx.Client(base_url=fuzzed.url, timeout=REQUEST_TIMEOUT_S) as c:
        yield c


def assert_envelope(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert set(body) == {"Response"}
    inner = body["Response"]
    assert isinstance(inner["RequestId"], str) and len(inner["RequestId"]) == 36
    if "Error" in inner:
        assert set(inner["Error"]) == {"Code", "Message"}
        assert isinstance(inner["Error"]["Code"], str) and inner["Error"]["Code"]
        assert isinstance(inner["Error"]["Message"], str)
    return inner


# HTTP forbids leading/trailing whitespace in a field value; no client can send it.
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200
).map(str.strip)
fuzz_settings = settings(
    max_examples=150,
    deadline=None,  # checked only after a call returns; the client timeout catches hangs
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz_settings
@given(
    body=st.binary(max_size=2048),
    headers=st.dictionaries(
        st.sampled_from(
            ["Authorization", "X-TC-Action", "X-TC-Timestamp", "X-TC-Version", "X-TC-Token",
             "Content-Type", "X-TC-Content-SHA256"]
        ),
        header_values,
    ),
)  # fmt: skip
def test_unsigned_noise(client: httpx.Client, body: bytes, headers: dict[str, str]) -> None:
    inner = assert_envelope(client.post("/", content=body, headers=headers))
    assert inner["Error"]["Code"].startswith("AuthFailure.")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fields(action: str) -> list[str]:
    return list(ACTIONS[action].model.model_fields)


@st.composite
def signed_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    load_all()
    action = draw(st.sampled_from(sorted(ACTIONS)))
    names = [*_fields(action), "SubAppId", "Junk"]
    params = draw(st.dictionaries(st.sampled_from(names), json_values, max_size=6))
    return action, params


@fuzz_settings
@given(call=signed_calls())
def test_signed_random_parameters(
    client: httpx.Client, fuzzed: ServerProcess, call: tuple[str, dict[str, Any]]
) -> None:
    action, params = call
    body = json.dumps(params).encode()
    response = client.post("/", content=body, headers=signed_headers(action, body, fuzzed.host))
    inner = assert_envelope(response)
    if "Error" in inner:
        # Bad input is the caller's fault: it must never surface as InternalError.
        assert inner["Error"]["Code"] != "InternalError", (action, params, inner)


@fuzz_settings
@given(body=st.binary(max_size=512))
def test_signed_garbage_bodies(client: httpx.Client, fuzzed: ServerProcess, body: bytes) -> None:
    headers = signed_headers("DescribeSubAppIds", body, fuzzed.host)
    inner = assert_envelope(client.post("/", content=body, headers=headers))
    if "Error" in inner:
        assert inner["Error"]["Code"] in {"InvalidParameter", "InvalidParameterValue"}


# --- an unexpected exception: InternalError, RequestId in the log, nothing leaked ---


class BoomRequest(Request):
    pass


SECRET_DETAIL = "password=hunter2 in /srv/vodflow/secret_module.py"


async def _boom(ctx: Context, req: BoomRequest) -> dict[str, Any]:
    raise RuntimeError(SECRET_DETAIL)


@pytest.fixture
def boom_action() -> Iterator[str]:
    """A throwaway action that fails like a bug would; gone again after the test."""
    name = "VodflowTestRaisesInternally"
    load_all()
    registry.action(name)(_boom)
    try:
        yield name
    finally:
        ACTIONS.pop(name, None)


def test_unexpected_exception_is_internal_error_logged_with_request_id(
    tmp_path: Path, boom_action: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Settings(data_dir=tmp_path, secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=0)
    body = b"{}"
    with (
        TestClient(create_app(cfg), base_url="http://testserver") as app,
        caplog.at_level(logging.ERROR, logger="vodflow.api"),
    ):
        response = app.post(
            "/", content=body, headers=signed_headers(boom_action, body, "testserver")
        )
    inner = assert_envelope(response)
    request_id = inner["RequestId"]
    assert inner["Error"]["Code"] == "InternalError"
    message = inner["Error"]["Message"]
    assert request_id in message  # what to quote when reporting it
    for leak in ("hunter2", "secret_module", "RuntimeError", "Traceback", "_boom"):
        assert leak not in message and leak not in response.text
    (record,) = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.levelno == logging.ERROR and boom_action in record.getMessage()
    assert record.exc_info and str(record.exc_info[1]) == SECRET_DETAIL
