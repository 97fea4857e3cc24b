"""The API path's shortcuts give what the general code they stand for gives.

Each shortcut of the per-request path (issue 16) is compared with the plain
standard-library or earlier form on generated inputs: the JSON body reader, the
answer encoder, the HMAC under a cached key, the request id, the replay memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vodflow import ids
from vodflow.api import envelope, params
from vodflow.api.auth import MAX_SKEW_S, _Signer
from vodflow.api.replay import ReplayCache
from vodflow.errors import VodError

finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def outcome(read: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(body)
    except VodError as exc:
        return exc.code, exc.message


def _bodies() -> st.SearchStrategy[bytes]:
    documents = st.dictionaries(st.text(), json_values, max_size=5).map(json.dumps)
    text = documents | st.text(max_size=40).map(lambda t: "{" + t + "}")
    padded = st.tuples(st.sampled_from(["", " ", "\n", "\ufeff"]), text, st.sampled_from(["", " "]))
    joined = padded.map(lambda p: "".join(p))
    encoded = st.tuples(joined, st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32"]))
    return encoded.map(lambda e: e[0].encode(e[1], "surrogatepass")) | st.binary(max_size=64)


@settings(max_examples=400)
@given(body=_bodies())
def test_json_body_read_as_json_loads_reads_it(body: bytes) -> None:
    assert outcome(params.from_json, body) == outcome(params._from_json_general, body)


def test_json_body_shortcut_cases() -> None:
    deep = [b'{"a":' * n + b"1" + b"}" * n for n in (31, 32, 33, 100_000)]
    for body in (b"{}", b'{"a":1}{}', b'{"a":"\xff"}', b'{"a":[' * 20, *deep):
        assert outcome(params.from_json, body) == outcome(params._from_json_general, body)


@settings(max_examples=300)
@given(value=st.dictionaries(st.text(), json_values, max_size=5))
def test_answer_encoded_as_json_dumps_encodes_it(value: dict[str, Any]) -> None:
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert envelope._ENCODE(value) == expected


def test_answer_refuses_nan_as_before() -> None:
    for bad in (float("nan"), float("inf")):
        try:
            envelope._ENCODE({"x": [bad]})
        except ValueError:
            continue
        raise AssertionError("a non-finite number was encoded")


@given(key=st.binary(max_size=64), msg=st.binary(max_size=300))
def test_signer_is_hmac_sha256(key: bytes, msg: bytes) -> None:
    expected = hmac.new(key, msg, hashlib.sha256).hexdigest()
    signer = _Signer(key)
    assert signer.hexdigest(msg) == expected
    assert signer.hexdigest(msg) == expected  # the cached states are not consumed


def test_request_id_is_a_uuid4_in_text() -> None:
    seen = set()
    for _ in range(2000):
        rid = ids.request_id()
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        seen.add(rid[19])
    assert seen == set("89ab")


class ReferenceReplayCache:
    """`ReplayCache` as it was before it remembered when its first entry expires."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def first_seen(self, signature: str, timestamp: int, now: float) -> float:
        while self._seen:
            sig, (_, expires) = next(iter(self._seen.items()))
            if expires >= now:
                break
            del self._seen[sig]
        known = self._seen.get(signature)
        if known is not None:
            return known[0]
        self._seen[signature] = (now, timestamp + MAX_SKEW_S + 1.0)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return now


@settings(max_examples=300)
@given(
    max_entries=st.integers(1, 6),
    steps=st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.integers(-400, 400), st.integers(0, 200)),
        max_size=60,
    ),
)
def test_replay_memory_as_before(max_entries: int, steps: list[tuple[str, int, int]]) -> None:
    ours, reference = ReplayCache(max_entries), ReferenceReplayCache(max_entries)
    now = 1_000_000.0
    for signature, skew, advance in steps:
        now += advance
        timestamp = int(now) + skew
        assert ours.first_seen(signature, timestamp, now) == reference.first_seen(
            signature, timestamp, now
        )
        assert len(ours) == len(reference._seen)
