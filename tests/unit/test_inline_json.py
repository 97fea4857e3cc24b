"""store/inline.py decodes JSON columns with json's scanner: every stored value gives
what SQLAlchemy's own JSON processor gives (the same value, or the same error)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON

from vodflow.store.inline import _DIALECT, _json_processor

_SQLALCHEMY = JSON().dialect_impl(_DIALECT).result_processor(_DIALECT, None)
_FAST = _json_processor(_SQLALCHEMY)

VALUES: list[Any] = [
    None,
    '{"a": 1, "b": [1.5, 2.0, -0.0, 1e-07, 1E+300], "c": "\\u00fc\\u4e2d", "d": null}',
    '{"Name":"ünï 中","T":true,"F":false}',
    "[]",
    '"text"',
    "3",
    "-2.5",
    "NaN",
    "Infinity",
    '  {"lead": "whitespace"}',
    '{"trail": "whitespace"}  \n',
    7,
    2.25,
]
BAD: list[Any] = ["", "{", '{"a": 1} x', "\ufeff{}", "nul", '{"a": 01}', b"\xff"]


@pytest.mark.parametrize("value", VALUES)
def test_the_same_value_as_sqlalchemy(value: Any) -> None:
    expected = _SQLALCHEMY(value)
    got = _FAST(value)
    assert repr(got) == repr(expected)
    assert type(got) is type(expected)


@pytest.mark.parametrize("value", BAD)
def test_the_same_error_as_sqlalchemy(value: Any) -> None:
    with pytest.raises(Exception) as expected:
        _SQLALCHEMY(value)
    with pytest.raises(type(expected.value)) as got:
        _FAST(value)
    assert str(got.value) == str(expected.value)
