"""The shape of request models, for sweeps over every field of every action."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel


def _inner(annotation: Any) -> Any:
    """Optional[X] -> X; Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def kind_of(annotation: Any) -> tuple[str, Any]:
    """The JSON kind of a field: int, float, str, enum, list (with its item), model."""
    inner = _inner(annotation)
    if typing.get_origin(inner) is list:
        return "list", typing.get_args(inner)[0]
    if typing.get_origin(inner) is Literal:
        return "enum", typing.get_args(inner)
    if inspect.isclass(inner) and issubclass(inner, BaseModel):
        return "model", inner
    return {int: "int", float: "float", str: "str"}[inner], None
