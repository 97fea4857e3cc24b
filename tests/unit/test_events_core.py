"""Pure parts of event notification: handles, signing, URL and key rules, retry delays."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from pathlib import Path

import pytest

from vodflow.config import Settings
from vodflow.core import events as core
from vodflow.errors import VodError
from vodflow.notify import handles
from vodflow.notify.push import next_delay
from vodflow.notify.signing import push_body
from vodflow.receiver import InvalidCallback, expected_sign, verify


def test_handles_round_trip_and_are_fresh() -> None:
    a, b = handles.new_token(), handles.new_token()
    assert a != b and len(a) == handles.HANDLE_TOKEN_LEN
    h = handles.make_handle(a, 12345)
    assert handles.parse_handle(h) == (12345, a)
    assert handles.make_handle(b, 12345) != h


@pytest.mark.parametrize(
    "garbage", ["", "x", "0" * 16, "g" * 20, "ABCDEF0123456789ab", "0" * 65, "12 34", "é" * 20]
)
def test_garbage_handles_do_not_parse(garbage: str) -> None:
    assert handles.parse_handle(garbage) is None


def test_event_content_drops_nulls_recursively() -> None:
    body = core.event_content(
        "ProcedureStateChanged", {"TaskId": "t", "Message": None, "MetaData": {"Size": None}}
    )
    assert body == {
        "EventType": "ProcedureStateChanged",
        "ProcedureStateChangeEvent": {"TaskId": "t", "MetaData": {}},
    }


def test_push_body_signs_with_t_now_plus_600() -> None:
    raw = json.dumps(core.event_content("FileDeleted", {"FileIdSet": ["1"]}), separators=(",", ":"))
    t0 = time.time()
    signed = json.loads(push_body(raw, "Key123", t0))
    assert signed["T"] == int(t0) + 600 and isinstance(signed["T"], int)
    assert signed["Sign"] == expected_sign("Key123", signed["T"])
    assert signed["Sign"] == signed["Sign"].lower() and len(signed["Sign"]) == 32
    assert verify(json.dumps(signed), "Key123")["FileDeleteEvent"] == {"FileIdSet": ["1"]}
    # Without a key the stored body goes out as is.
    assert push_body(raw, "", t0) == raw


def test_verify_refuses_forgeries_replays_and_garbage() -> None:
    t = int(time.time()) + 600
    good = {"EventType": "NewFileUpload", "T": t, "Sign": expected_sign("k1", t)}
    assert verify(good, "k1") == {"EventType": "NewFileUpload"}
    with pytest.raises(InvalidCallback):
        verify(good, "k2")  # wrong key
    with pytest.raises(InvalidCallback):
        verify({**good, "T": t + 1}, "k1")  # T tampered
    old = int(time.time()) - 5
    with pytest.raises(InvalidCallback):
        verify({"EventType": "x", "T": old, "Sign": expected_sign("k1", old)}, "k1")
    far = int(time.time()) + 100_000
    with pytest.raises(InvalidCallback):
        verify({"EventType": "x", "T": far, "Sign": expected_sign("k1", far)}, "k1")
    for bad in (b"not json", b"[]", b"{}", b'{"EventType":"x"}', b'{"EventType":"x","T":true}'):
        with pytest.raises(InvalidCallback):
            verify(bad, "k1")


@pytest.mark.parametrize("key", ["", "a", "A1b2C3", "x" * 32])
def test_sign_key_accepted(key: str) -> None:
    assert core.check_sign_key(key) == key


@pytest.mark.parametrize("key", ["x" * 33, "abc!", "a b", "ключ", "a-b", "a_b"])
def test_sign_key_refused(key: str) -> None:
    with pytest.raises(VodError) as info:
        core.check_sign_key(key)
    assert info.value.code == "InvalidParameterValue"


def check_url(url: str, allow_private: bool = False) -> str:
    return asyncio.run(core.check_notification_url(url, allow_private=allow_private))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://10.0.0.1/",
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "https://example.com/" + "a" * 5000,
        "http:///nohost",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "not a url",
    ],
)
def test_notification_url_refused(url: str) -> None:
    with pytest.raises(VodError) as info:
        check_url(url)
    assert info.value.code == "InvalidParameterValue"


def test_notification_url_rules() -> None:
    assert check_url("") == ""  # clears it
    assert check_url("http://8.8.8.8/cb") == "http://8.8.8.8/cb"
    assert check_url("https://1.1.1.1:8443/x?y=1") == "https://1.1.1.1:8443/x?y=1"
    # Private hosts pass when the operator allows them; the scheme rule stays.
    assert check_url("http://127.0.0.1:9/cb", allow_private=True) == "http://127.0.0.1:9/cb"
    with pytest.raises(VodError):
        check_url("ftp://127.0.0.1/", allow_private=True)


def test_retry_schedule_with_jitter() -> None:
    schedule = (5.0, 30.0, 120.0)
    for attempts, base in ((1, 5.0), (2, 30.0), (3, 120.0)):
        delays = {next_delay(schedule, attempts) for _ in range(50)}
        assert all(d is not None and 0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(delays) > 1  # jittered
    assert next_delay(schedule, 4) is None  # out of tries: FAILED


def test_default_push_schedule_retries_for_exactly_24_hours() -> None:
    schedule = Settings().push_schedule_s
    assert schedule[:5] == (5, 30, 120, 600, 1800)
    assert set(schedule[5:-1]) == {3600}  # then hourly ...
    assert 0 < schedule[-1] <= 3600  # ... the last gap cut short
    assert sum(schedule) == 24 * 3600
    assert Settings.from_env().push_schedule_s == schedule


def test_readme_configuration_table_names_every_setting() -> None:
    """Every VODFLOW_* variable Settings.from_env reads has a row in README's table."""
    root = Path(__file__).resolve().parents[2]
    source = inspect.getsource(Settings.from_env)
    names = set(re.findall(r'_env(?:_int|_float|_bool)?\(\s*"([A-Z_]+)"', source))
    assert {"PUSH_SCHEDULE", "PUSH_PER_URL", "LEASE_S"} <= names  # the parse found them
    readme = (root / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {m for line in table.splitlines() for m in re.findall(r"`VODFLOW_([A-Z_]+)`", line)}
    assert names - rows == set()
