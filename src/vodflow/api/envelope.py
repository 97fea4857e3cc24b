"""The Tencent response envelope, and pydantic errors turned into Tencent codes."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from starlette.responses import Response
from tencentcloud.vod.v20180717 import errorcodes

from vodflow.errors import VodError
from vodflow.wire.common import INT64_MAX, INT64_MIN, UNSUPPORTED

_VALUE_ERRORS = {
    "literal_error",
    "enum",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "string_too_long",
    "string_too_short",
    "too_long",
    "too_short",
    "string_pattern_mismatch",
    "value_error",
    "multiple_of",
    "finite_number",
}


class RawPayload(bytes):
    """The members of a Response already serialized as UTF-8 (e.g. `"EventSet":[...]`).

    PullEvents answers with event bodies stored as JSON text; splicing their bytes
    in spares parsing and re-encoding 16 documents on the busiest request there is
    (and, as bytes, decoding them from the database and encoding the answer).
    """


# Starlette's JSONResponse encoding (compact, UTF-8, no NaN), made once: json.dumps
# with options builds a new encoder on every call, and so does `JSONEncoder.encode`
# below its Python layer; the standard library's C encoder is made here once instead
# (the same bytes; no check for circular structures, which no answer is).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    None
    if _C_MAKE_ENCODER is None  # not CPython: the encoder's own path
    else _C_MAKE_ENCODER(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
)


def _ENCODE(value: Any) -> str:
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def encoded(value: Any) -> bytes:
    """`value` as answers encode it (compact UTF-8 JSON)."""
    return _ENCODE(value).encode()


def members(payload: dict[str, Any]) -> RawPayload:
    """A Response's members encoded as `ok_body` encodes them (the same bytes)."""
    return RawPayload(_ENCODE(payload)[1:-1].encode())


def as_dict(payload: dict[str, Any] | RawPayload) -> dict[str, Any]:
    """A handler's payload as a dict, whichever form it took."""
    if isinstance(payload, RawPayload):
        decoded: dict[str, Any] = json.loads(b"{%s}" % payload)
        return decoded
    return payload


def ok_body(payload: dict[str, Any] | RawPayload, request_id: str) -> bytes:
    """The bytes of a successful answer."""
    if isinstance(payload, RawPayload):
        sep = b"," if payload else b""
        return b'{"Response":{%s%s"RequestId":"%s"}}' % (payload, sep, request_id.encode())
    return _ENCODE({"Response": {**payload, "RequestId": request_id}}).encode()


def error_body(code: str, message: str, request_id: str) -> bytes:
    """The bytes of an error answer."""
    body = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
    return _ENCODE(body).encode()


def ok(payload: dict[str, Any] | RawPayload, request_id: str) -> Response:
    return Response(ok_body(payload, request_id), media_type="application/json")


def error(code: str, message: str, request_id: str) -> Response:
    return Response(error_body(code, message, request_id), media_type="application/json")


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(body)"


# Tencent's sub-codes of InvalidParameterValue, from the SDK's own list: a bad value
# of a field that has one answers it (`InvalidParameterValue.Limit`...).
_FIELD_CODES = {
    code.split(".", 1)[1]: code
    for code in vars(errorcodes).values()
    if isinstance(code, str) and code.startswith("InvalidParameterValue.")
}
# Fields whose sub-code is not named after them.
_FIELD_CODES["OperationType"] = "InvalidParameterValue.InvalidOperationType"


def value_code(*loc: int | str) -> str:
    """The code of a bad value at `loc`: the sub-code of the innermost field that has
    one (`Sort.Order` answers `InvalidParameterValue.Sort`), else the bare code."""
    for part in reversed(loc):
        if isinstance(part, str) and part in _FIELD_CODES:
            return _FIELD_CODES[part]
    return "InvalidParameterValue"


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "string": "a string",
    "list": "an array",
    "dict": "an object",
    "model": "an object",
    "bool": "a boolean",
}


def _type_word(kind: str) -> str:
    for prefix, word in _TYPE_WORDS.items():
        if kind.startswith(prefix):
            return word
    return "of the documented type"


def _unwrap(annotation: Any, metas: list[Any]) -> Any:
    """Strip Optional and Annotated, collecting Annotated metadata (inner first)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            for m in extra:
                metas.extend(m.metadata if isinstance(m, FieldInfo) else [m])
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _range(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> tuple[Any, Any]:
    """The (ge, le) a field at `loc` declares, to name its whole range in a message."""
    annotation: Any = model
    metas: list[Any] = []
    for part in loc:
        annotation = _unwrap(annotation, [])
        if isinstance(part, int):
            if typing.get_origin(annotation) is not list:
                return None, None
            annotation, metas = typing.get_args(annotation)[0], []
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None, None
        found = [i for n, i in annotation.model_fields.items() if (i.alias or n) == part]
        if not found:
            return None, None
        annotation, metas = found[0].annotation, list(found[0].metadata)
    _unwrap(annotation, metas)
    ge = le = None
    for m in metas:
        ge = getattr(m, "ge", ge)
        le = getattr(m, "le", le)
    return ge, le


def _plain(first: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    """What the value must be, in plain words, from pydantic's structured error."""
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal"):
        ge, le = _range(model, tuple(first["loc"]))
        if ge is not None and le is not None and ge > INT64_MIN and le < INT64_MAX:
            return f"must be from {ge} to {le}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "greater than"
        return f"must be {word} {bound}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return f"must be {word} {bound}"
    text = isinstance(first.get("input"), str)
    if kind in ("string_too_long", "too_long"):
        n = ctx.get("max_length")
        return f"must be at most {n} characters long" if text else f"may hold at most {n} items"
    if kind in ("string_too_short", "too_short"):
        n = ctx.get("min_length")
        if n == 1:
            return "must not be empty"
        return f"must be at least {n} characters long" if text else f"must hold at least {n} items"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed"
    if kind == "finite_number":
        return "must be a finite number"
    return str(first["msg"]).removeprefix("Value error, ").rstrip(".")


def _rank(error: ErrorDetails) -> int:
    # What the caller sent but should not have speaks first: a misspelt `FileID`
    # is an unknown parameter before it is a missing `FileId`.
    return {UNSUPPORTED: 0, "extra_forbidden": 1}.get(error["type"], 2)


def from_validation(exc: ValidationError, model: type[BaseModel] | None = None) -> VodError:
    """One problem decides the code, as Tencent reports one error at a time; `model`
    (the request's) lets a message name a field's whole range."""
    return from_error(min(exc.errors(include_url=False), key=_rank), model)


def from_error(first: ErrorDetails, model: type[BaseModel] | None = None) -> VodError:
    """One pydantic error as Tencent's code.

    Unknown field `UnknownParameter`, a field vodflow does not implement
    `UnsupportedOperation`, absent `MissingParameter`, wrong JSON type
    `InvalidParameter`, bad value `InvalidParameterValue[.<Field>]`.
    """
    loc = tuple(first["loc"])
    kind = first["type"]
    ctx = first.get("ctx") or {}
    if kind == UNSUPPORTED:
        what = ctx.get("what", "this")
        if "field" not in ctx:  # a value vodflow does not implement
            return VodError(
                "UnsupportedOperation", f"vodflow does not support {what} (`{_where(loc)}`)."
            )
        loc = (*loc, str(ctx["field"]))
        return VodError(
            "UnsupportedOperation",
            f"vodflow does not support {what}: leave `{_where(loc)}` out "
            "(docs/api-coverage.md lists every field vodflow honours).",
        )
    where = _where(loc)
    if kind == "extra_forbidden":
        return VodError("UnknownParameter", f"`{where}` is not a parameter of this action.")
    if kind == "missing":
        return VodError(
            "MissingParameter", f"The request is missing a required parameter `{where}`."
        )
    if kind == "literal_error" and not isinstance(first.get("input"), str):
        kind = "string_type"  # every enumeration is of strings: not one is a wrong type
    if kind in _VALUE_ERRORS:
        return VodError(value_code(*loc), f"`{where}` {_plain(first, model)}.")
    return VodError("InvalidParameter", f"`{where}` must be {_type_word(kind)}.")
