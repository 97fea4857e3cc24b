"""Random bodies and headers at `POST /`: always a well-formed envelope, never a 500.

The fuzzed server is a real `vodflow serve` process, reached over HTTP with a
client timeout on every request: hypothesis checks its deadline only once a call
returns, so without the timeout a hung request would block the suite forever.
Internal failures are provoked in-process, where the log can be read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from starlette.testclient import TestClient

from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.signing import signed_headers
from tests.wire_support import kind_of
from vodflow.api import registry
from vodflow.api.auth import SignedRequest, sign
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


# --- hostile values in every field of every action, nested structures too ---

hostile_leaves = st.one_of(
    st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**30, -1, 0, 1]),
    st.integers(),
    st.floats(),  # inf and nan too: json.dumps writes Infinity/NaN, json.loads reads them
    st.sampled_from(["5", "1e400", "-0", "0x10", "", " ", "\x00", "a\x00b", "\ud800",
                     "\U0001f600" * 40, "9" * 5000]),
    st.text(max_size=40),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip


def _hostile_for(annotation: Any, depth: int) -> st.SearchStrategy[Any]:
    kind, arg = kind_of(annotation)
    if kind == "model" and depth < 4:
        return st.one_of(hostile_leaves, _hostile_model(arg, depth + 1))
    if kind == "list" and depth < 4:
        return st.one_of(hostile_leaves, st.lists(_hostile_for(arg, depth + 1), max_size=3))
    return hostile_leaves


def _hostile_model(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    names = sorted(fields)
    refused = sorted(getattr(model, "REFUSED", {}))
    return st.lists(st.sampled_from([*names, *refused, "Junk"]), max_size=5, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries(
            {k: _hostile_for(fields[k], depth) if k in fields else hostile_leaves for k in keys}
        )
    )


@st.composite
def hostile_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    load_all()
    action = draw(st.sampled_from(sorted(ACTIONS)))
    return action, draw(_hostile_model(ACTIONS[action].model))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=hostile_calls(), as_get=st.booleans())
def test_hostile_values_in_every_field(
    client: httpx.Client, fuzzed: ServerProcess, call: tuple[str, dict[str, Any]], as_get: bool
) -> None:
    """Huge ints, floats, strings for ints, nested objects, unicode, NUL, lone surrogates:
    a documented code every time, never InternalError or a 5xx."""
    action, params = call
    if as_get:
        query = urlencode(_flatten(params))
        response = client.get("/?" + query, headers=_signed_get(action, query, fuzzed.host))
    else:
        body = json.dumps(params).encode()
        response = client.post("/", content=body, headers=signed_headers(action, body, fuzzed.host))
    inner = assert_envelope(response)
    if "Error" in inner:
        assert inner["Error"]["Code"] != "InternalError", (action, params, inner)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, bytes]]:
    """The SDK's GET form: `A.0.B=x`."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _flatten(v, f"{prefix}{i}.")]
    text = json.dumps(value) if not isinstance(value, str) else value
    return [(prefix.rstrip("."), text.encode("utf-8", "surrogatepass"))]


def _signed_get(action: str, query: str, host: str) -> dict[str, str]:
    ts = str(int(time.time()))
    ctype = "application/x-www-form-urlencoded"
    req = SignedRequest("GET", "/", query, {"content-type": ctype, "host": host}, b"")
    signature = sign(SECRET_KEY, req, ["content-type", "host"], ts)
    date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    return {
        "Content-Type": ctype,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": "2018-07-17",
        "X-TC-Timestamp": ts,
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/vod/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
    }


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
