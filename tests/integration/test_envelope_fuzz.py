"""Random bodies and headers at `POST /`: always a well-formed envelope, never a 500.

The app runs in-process (Starlette's TestClient drives its lifespan) on a
throwaway SQLite database, so hypothesis can send hundreds of requests quickly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.servers import SECRET_ID, SECRET_KEY
from tests.signing import signed_headers
from vodflow.api.registry import ACTIONS, load_all
from vodflow.app import create_app
from vodflow.config import Settings

HOST = "testserver"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("fuzz")
    cfg = Settings(
        data_dir=Path(data),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        rate_limit=0,
        pull_wait_s=0.05,
        workers=1,
    )
    with TestClient(create_app(cfg), base_url=f"http://{HOST}") as c:
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


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
fuzz_settings = settings(
    max_examples=150,
    deadline=5000,  # a hang fails the example
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
def test_unsigned_noise(client: TestClient, body: bytes, headers: dict[str, str]) -> None:
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
def test_signed_random_parameters(client: TestClient, call: tuple[str, dict[str, Any]]) -> None:
    action, params = call
    body = json.dumps(params).encode()
    response = client.post("/", content=body, headers=signed_headers(action, body, HOST))
    inner = assert_envelope(response)
    if "Error" in inner:
        # Bad input is the caller's fault: it must never surface as InternalError.
        assert inner["Error"]["Code"] != "InternalError", (action, params, inner)


@fuzz_settings
@given(body=st.binary(max_size=512))
def test_signed_garbage_bodies(client: TestClient, body: bytes) -> None:
    headers = signed_headers("DescribeSubAppIds", body, HOST)
    inner = assert_envelope(client.post("/", content=body, headers=headers))
    if "Error" in inner:
        assert inner["Error"]["Code"] in {"InvalidParameter", "InvalidParameterValue"}
