"""Base classes and field types shared by every wire model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


def _reject_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; Tencent's API does not.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _reject_bool_float(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


def _string_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


Int = Annotated[int, BeforeValidator(_reject_bool)]
Float = Annotated[float, BeforeValidator(_reject_bool_float)]
Str = Annotated[str, BeforeValidator(_string_only)]
AppId = Annotated[Int, Field(ge=1)]


class WireModel(BaseModel):
    """A Tencent structure: unknown fields ignored, nulls omitted on output."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Request(WireModel):
    """A request of any action that takes the optional application id."""

    SubAppId: AppId | None = None


def dump_clean(value: Any) -> Any:
    """Drop None recursively from plain JSON data (dicts stored in the database)."""
    if isinstance(value, dict):
        return {k: dump_clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [dump_clean(v) for v in value]
    return value
