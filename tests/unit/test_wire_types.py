"""Every enumerated parameter of every action: a wrong type is InvalidParameter, a wrong value
InvalidParameterValue, as Tencent distinguishes them."""

from __future__ import annotations

import inspect
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from vodflow.api.envelope import from_error, value_code
from vodflow.wire import apps, events, media, tasks, templates, upload


def _literal_values(annotation: Any) -> tuple[str, ...] | None:
    """The strings of the Literal inside Optional/Annotated/list, if the field is one."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        found = _literal_values(arg)
        if found:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list or any(
        _is_list(arg) for arg in typing.get_args(annotation)
    )


def _enum_fields() -> list[tuple[type[BaseModel], str, tuple[str, ...], bool]]:
    found = []
    for module in (apps, events, media, tasks, templates, upload):
        for _, model in inspect.getmembers(module, inspect.isclass):
            if not (issubclass(model, BaseModel) and model.__name__.endswith("Request")):
                continue
            for name, info in model.model_fields.items():
                values = _literal_values(info.annotation)
                if values and all(isinstance(v, str) for v in values):
                    found.append((model, info.alias or name, values, _is_list(info.annotation)))
    return found


ENUM_FIELDS = _enum_fields()


def _code(model: type[BaseModel], field: str, value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({field: value})
    (error,) = [e for e in caught.value.errors() if e["loc"][:1] == (field,)]
    return from_error(error).code


def test_the_sweep_finds_the_enumerations() -> None:
    names = {(m.__name__, f) for m, f, _, _ in ENUM_FIELDS}
    assert ("ModifyEventConfigRequest", "Mode") in names
    assert ("CreateSubAppIdRequest", "Type") in names
    assert ("ProcessMediaRequest", "TasksNotifyMode") in names
    assert ("DescribeEventDeliveriesRequest", "EventTypes") in names


@pytest.mark.parametrize(
    ("model", "field", "values", "is_list"),
    ENUM_FIELDS,
    ids=[f"{m.__name__}.{f}" for m, f, _, _ in ENUM_FIELDS],
)
def test_wrong_type_and_wrong_value(
    model: type[BaseModel], field: str, values: tuple[str, ...], is_list: bool
) -> None:
    def shaped(value: Any) -> Any:
        return [value] if is_list else value

    for wrong_type in (1, True, 2.5, ["x"], {"a": 1}):
        assert _code(model, field, shaped(wrong_type)) == "InvalidParameter", wrong_type
    # A bad value answers the field's own sub-code where Tencent's errorcodes.py has one.
    assert _code(model, field, shaped("NoSuch" + values[0])) == value_code(field)
