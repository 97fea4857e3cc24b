"""GET query strings rebuilt into the nested shape of a JSON body."""

from __future__ import annotations

import pytest

from vodflow.api.params import from_json, from_query
from vodflow.errors import VodError


def test_flat_and_nested() -> None:
    query = "Limit=5&FileIds.0=a&FileIds.1=b&Filters.0.Name=x&Filters.0.Values.0=y&SubAppId=7"
    assert from_query(query) == {
        "Limit": "5",
        "FileIds": ["a", "b"],
        "Filters": [{"Name": "x", "Values": ["y"]}],
        "SubAppId": "7",
    }


def test_indexes_sorted_numerically() -> None:
    query = "&".join(f"L.{i}={i}" for i in (10, 2, 0, 1))
    assert from_query(query) == {"L": ["0", "1", "2", "10"]}


@pytest.mark.parametrize(
    "query",
    ["A..B=1", "A.99999=1", "A=1&A.B=2", "A.B=1&A=2", ".".join(["x"] * 20) + "=1"],
)
def test_malformed_names(query: str) -> None:
    with pytest.raises(VodError) as info:
        from_query(query)
    assert info.value.code == "InvalidParameter"


@pytest.mark.parametrize("body", [b"[1]", b"not json", b'"s"', b"\xff\xfe"])
def test_json_body_must_be_an_object(body: bytes) -> None:
    with pytest.raises(VodError) as info:
        from_json(body)
    assert info.value.code == "InvalidParameter"


def test_empty_json_body_is_no_parameters() -> None:
    assert from_json(b"") == {}
    assert from_json(b'{"A": 1}') == {"A": 1}
