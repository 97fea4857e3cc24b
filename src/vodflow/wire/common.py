"""Base classes and field types shared by every wire model.

One rule for what a request may carry, decided here and nowhere else:

- **Strict JSON types.** Tencent's gateway answers `InvalidParameter` ("parameter
  format or type error") for a value of the wrong JSON type, so a JSON body must
  carry an Integer as a JSON integer (`"5"`, `5.0` and `true` are refused) and a
  String as a JSON string. A GET query carries only text; it is read in lax mode,
  where `Limit=5` becomes the integer the field documents (see `api.server`).
- **Integers are 64-bit.** Every Integer field is bounded to the signed 64-bit
  range the database and Tencent's own SDKs use; a field's documented range is
  narrower where it has one.
- **Unknown parameters are refused** (`UnknownParameter`), nested structures too:
  a misspelt field never silently changes behaviour.
- **Fields vodflow does not implement are refused by name** (`UnsupportedOperation`):
  a model lists them in `REFUSED`, so they are declared next to the fields it honours
  and docs/api-coverage.md is generated from both.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# The pydantic error type of a refused field; `api.envelope` answers it.
UNSUPPORTED = "vodflow_unsupported"


def _reject_bool(value: Any) -> Any:
    # pydantic's lax mode (GET queries) reads true as 1; Tencent's API does not.
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


Int = Annotated[int, BeforeValidator(_reject_bool), Field(ge=INT64_MIN, le=INT64_MAX)]
Float = Annotated[float, BeforeValidator(_reject_bool_float), Field(allow_inf_nan=False)]
Str = Annotated[str, BeforeValidator(_string_only)]
AppId = Annotated[Int, Field(ge=1)]


def unsupported(what: str) -> PydanticCustomError:
    """The error of a field (or a value of one) vodflow does not implement."""
    return PydanticCustomError(UNSUPPORTED, "vodflow does not support {what}", {"what": what})


# vodflow keeps every file in one place, reported as this region.
STORAGE_REGION = "ap-local"


def _one_region(value: str) -> str:
    if value not in ("", STORAGE_REGION):
        raise unsupported(f"storage regions other than {STORAGE_REGION}")
    return value


Region = Annotated[Str, Field(max_length=32), AfterValidator(_one_region)]


class WireModel(BaseModel):
    """A Tencent structure as vodflow writes it: nulls omitted on output."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Input(WireModel):
    """A structure a caller sends: strict types, unknown fields refused.

    `REFUSED` maps each field of Tencent's structure that vodflow does not
    implement to what it is, in plain words; a non-null value answers
    `UnsupportedOperation` naming the field.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    REFUSED: ClassVar[dict[str, str]] = {}
    # Honoured fields with a restriction worth a line in docs/api-coverage.md.
    NOTES: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if not (cls.REFUSED and isinstance(data, dict)):
            return data
        for name, what in cls.REFUSED.items():
            # An empty value asks for nothing (the SDK omits None; forms send "").
            if data.get(name) not in (None, "", [], {}):
                raise PydanticCustomError(
                    UNSUPPORTED, "vodflow does not support {what}", {"what": what, "field": name}
                )
        return {k: v for k, v in data.items() if k not in cls.REFUSED}


class Request(Input):
    """A request of any action that takes the optional application id."""

    SubAppId: AppId | None = None


def dump_clean(value: Any) -> Any:
    """Drop None recursively from plain JSON data (dicts stored in the database)."""
    if isinstance(value, dict):
        return {k: dump_clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [dump_clean(v) for v in value]
    return value
