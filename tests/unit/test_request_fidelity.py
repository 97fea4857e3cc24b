"""Every field of every action, nested structures too: one rule for what a request may carry.

- an unknown field answers `UnknownParameter` naming it (a typo never changes behaviour);
- a field of Tencent's that vodflow does not implement answers `UnsupportedOperation`
  naming it;
- a value of the wrong JSON type answers `InvalidParameter` (Tencent's "parameter format
  or type error"): no `"5"` for an Integer, no `5.0`, no `true`, no number for a String;
- an integer beyond the field's range (2^63 and more included) answers the field's own
  code (`InvalidParameterValue.Offset`...) with the range in plain words.

The sweep derives the fields from the request models the registry serves, so a new
field or action is covered without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from tests.wire_support import kind_of
from vodflow.api.envelope import from_error, from_validation, value_code
from vodflow.api.registry import load_all
from vodflow.errors import VodError
from vodflow.wire.common import Input

ACTIONS = load_all()


def _paths(model: type[Input], prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The location of the model itself and of every nested Input structure."""
    yield prefix
    for name, info in model.model_fields.items():
        kind, arg = kind_of(info.annotation)
        loc = (*prefix, info.alias or name)
        if kind == "model":
            yield from _paths(arg, loc)
        elif kind == "list" and kind_of(arg)[0] == "model":
            yield from _paths(kind_of(arg)[1], (*loc, 0))


def _fields(model: type[Input], prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """(location, kind, arg) of every leaf field, nested ones too."""
    for name, info in model.model_fields.items():
        kind, arg = kind_of(info.annotation)
        loc = (*prefix, info.alias or name)
        if kind == "model":
            yield from _fields(arg, loc)
        elif kind == "list" and kind_of(arg)[0] == "model":
            yield from _fields(kind_of(arg)[1], (*loc, 0))
        else:
            yield loc, kind, arg


def _model_at(model: type[Input], loc: tuple[Any, ...]) -> type[Input]:
    for part in loc:
        if isinstance(part, int):
            continue
        info = next(i for n, i in model.model_fields.items() if (i.alias or n) == part)
        kind, arg = kind_of(info.annotation)
        model = arg if kind == "model" else kind_of(arg)[1]
    return model


def _put(loc: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A request carrying `value` at `loc` (lists of one item where the path has 0)."""
    out: Any = value
    for part in reversed(loc):
        out = [out] if isinstance(part, int) else {part: out}
    assert isinstance(out, dict)
    return out


def answer(action: str, params: dict[str, Any], *, strict: bool = True) -> VodError | None:
    try:
        ACTIONS[action].model.model_validate(params, strict=strict)
    except ValidationError as exc:
        return from_validation(exc, ACTIONS[action].model)
    return None


def answer_at(action: str, params: dict[str, Any], loc: tuple[Any, ...]) -> VodError | None:
    """The answer to the problem at `loc` (other required fields are left out)."""
    try:
        ACTIONS[action].model.model_validate(params, strict=True)
    except ValidationError as exc:
        here = [e for e in exc.errors(include_url=False) if tuple(e["loc"])[: len(loc)] == loc]
        model = ACTIONS[action].model
        return from_error(here[0], model) if here else from_validation(exc, model)
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


NESTED = [(a, loc) for a in sorted(ACTIONS) for loc in _paths(ACTIONS[a].model)]  # type: ignore[arg-type]
LEAVES = [(a, *f) for a in sorted(ACTIONS) for f in _fields(ACTIONS[a].model)]  # type: ignore[arg-type]
REFUSED = [
    (a, loc, name)
    for a, loc in NESTED
    for name in _model_at(ACTIONS[a].model, loc).REFUSED  # type: ignore[arg-type]
]


def test_the_sweep_reaches_nested_structures() -> None:
    assert ("ProcessMedia", ("MediaProcessTask", "TranscodeTaskSet", 0)) in NESTED
    assert ("CreateAdaptiveDynamicStreamingTemplate", ("StreamInfos", 0, "Video")) in NESTED
    assert ("DescribeTasks", ("Sort",)) in NESTED
    leaves = {(a, loc) for a, loc, _, _ in LEAVES}
    assert ("ProcessMedia", ("MediaProcessTask", "TranscodeTaskSet", 0, "Definition")) in leaves
    assert len(LEAVES) > 300


@pytest.mark.parametrize(("action", "loc"), NESTED, ids=[f"{a}:{_dotted(p)}" for a, p in NESTED])
def test_unknown_field_is_unknown_parameter(action: str, loc: tuple[Any, ...]) -> None:
    for name in ("Foo", "TaskNotifyMode", "fileId"):
        err = answer(action, _put((*loc, name), 1))
        assert err is not None and err.code == "UnknownParameter", (name, err)
        assert f"`{_dotted((*loc, name))}`" in err.message


@pytest.mark.parametrize(
    ("action", "loc", "name"), REFUSED, ids=[f"{a}:{_dotted((*p, n))}" for a, p, n in REFUSED]
)
def test_unimplemented_field_is_refused_by_name(
    action: str, loc: tuple[Any, ...], name: str
) -> None:
    for value in ([{"Definition": 10}], {"Definition": 10}, 1, "ON"):
        err = answer(action, _put((*loc, name), value))
        assert err is not None and err.code == "UnsupportedOperation", (value, err)
        assert f"`{_dotted((*loc, name))}`" in err.message
        assert "vodflow does not support" in err.message
    # An empty value asks for nothing: it is the field left out.
    err = answer(action, _put((*loc, name), []))
    assert err is None or err.code != "UnsupportedOperation"


def test_the_issue_s_fields_are_refused() -> None:
    mpt = "MediaProcessTask"
    for action in ("ProcessMedia", "CreateProcedureTemplate", "ResetProcedureTemplate"):
        paths = {_dotted((*loc, n)) for a, loc, n in REFUSED if a == action}
        for set_name, field in [
            ("TranscodeTaskSet", "MosaicSet"),
            ("TranscodeTaskSet", "TraceWatermark"),
            ("AdaptiveDynamicStreamingTaskSet", "SubtitleInfoSet"),
        ]:
            assert f"{mpt}.{set_name}.0.{field}" in paths, (action, set_name, field)
        for ai in ("AiRecognitionTask", "AiContentReviewTask", "AiAnalysisTask"):
            assert ai in paths
        # Head/tail is done (issue 13): HeadTailSet is honoured, not refused.
        assert f"{mpt}.TranscodeTaskSet.0.HeadTailSet" not in paths
    for action in ("CreateProcedureTemplate", "ResetProcedureTemplate"):
        assert "ReviewAudioVideoTask" in {_dotted((*p, n)) for a, p, n in REFUSED if a == action}
    err = answer("ModifyEventConfig", {"PersistenceCompleteEventSwitch": "ON"})
    assert err is not None and err.code == "UnsupportedOperation"
    assert "PersistenceCompleteEventSwitch" in err.message
    assert answer("ModifyEventConfig", {"PersistenceCompleteEventSwitch": "OFF"}) is None
    # One storage place: another region is refused rather than quietly stored locally.
    for action, base in [
        ("ApplyUpload", {"MediaType": "mp4"}),
        ("PullUpload", {"MediaUrl": "http://example.com/a.mp4"}),
        ("CreateSubAppId", {"Name": "n"}),
    ]:
        err = answer(action, {**base, "StorageRegion": "ap-guangzhou"})
        assert err is not None and err.code == "UnsupportedOperation", (action, err)
        assert "`StorageRegion`" in err.message
        assert answer(action, {**base, "StorageRegion": "ap-local"}) is None


@pytest.mark.parametrize(
    ("field", "refused", "honoured"),
    # Vcrf and GopUnit are honoured since issue 10 (tests/e2e/test_media_accuracy.py).
    [("Mode", "CBR", "VBR"), ("PreserveHDRSwitch", "ON", "OFF"), ("CodecTag", "hev1", "hvc1")],
)  # fmt: skip
def test_encoder_settings_ffmpeg_is_not_given_are_refused(
    field: str, refused: Any, honoured: Any
) -> None:
    """Values FFmpeg would silently not apply are refused; the default is accepted."""
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": 800}
    for action, where in [
        ("CreateTranscodeTemplate",
         {"Container": "mp4", "VideoTemplate": {**video, field: refused}}),
        ("ModifyTranscodeTemplate", {"Definition": 1000001, "VideoTemplate": {field: refused}}),
        ("CreateAdaptiveDynamicStreamingTemplate",
         {"Format": "HLS", "StreamInfos": [{"Video": {**video, field: refused}}]}),
    ]:  # fmt: skip
        err = answer(action, where)
        assert err is not None and err.code == "UnsupportedOperation", (action, err)
        assert f"{field}`" in err.message
    ok = {"Container": "mp4", "VideoTemplate": {**video, field: honoured}}
    assert answer("CreateTranscodeTemplate", ok) is None


WRONG_TYPES: dict[str, list[Any]] = {
    "int": ["5", 5.0, 5.5, True, [5], {"a": 5}],
    "float": ["1.5", True, [1.5], {"a": 1}],
    "str": [123, 1.5, True, ["x"], {"a": "x"}],
    "enum": [1, True, ["x"], {"a": "x"}],
    "list": ["x", 5, {"a": 1}],
}


@pytest.mark.parametrize(
    ("action", "loc", "kind", "arg"), LEAVES, ids=[f"{a}:{_dotted(p)}" for a, p, _, _ in LEAVES]
)
def test_wrong_json_type_is_invalid_parameter(
    action: str, loc: tuple[Any, ...], kind: str, arg: Any
) -> None:
    values = WRONG_TYPES[kind]
    if kind == "list":  # and a wrong item inside a right list
        item_kind = kind_of(arg)[0]
        values = values + [[v] for v in WRONG_TYPES[item_kind][:2]]
    for value in values:
        err = answer_at(action, _put(loc, value), loc)
        assert err is not None and err.code == "InvalidParameter", (value, err)
        assert f"`{_dotted(loc)}" in err.message
        assert "Input should" not in err.message  # plain words, not pydantic's


INT_LEAVES = [
    (a, loc)
    for a, loc, kind, arg in LEAVES
    if kind == "int" or (kind == "list" and arg is not None and kind_of(arg)[0] == "int")
]


@pytest.mark.parametrize(
    ("action", "loc"), INT_LEAVES, ids=[f"{a}:{_dotted(p)}" for a, p in INT_LEAVES]
)
def test_huge_integers_answer_the_field_s_code(action: str, loc: tuple[Any, ...]) -> None:
    is_list = (
        kind_of(
            next(
                i.annotation
                for n, i in _model_at(ACTIONS[action].model, loc[:-1]).model_fields.items()  # type: ignore[arg-type]
                if (i.alias or n) == loc[-1]
            )
        )[0]
        == "list"
    )
    for value in (2**63, 2**64 + 1, 10**30, -(2**63) - 1):
        err = answer_at(action, _put(loc, [value] if is_list else value), loc)
        assert err is not None, value
        assert err.code == value_code(*loc), (value, err)
        assert re.search(r"must be (at (least|most)|from) -?\d+", err.message), err.message
        assert f"`{_dotted(loc)}" in err.message


def test_get_queries_are_read_as_the_documented_types() -> None:
    # A GET query carries text only: "5" is the integer 5 there, never in a JSON body.
    assert answer("DescribeTasks", {"Limit": "5"}, strict=False) is None
    err = answer("DescribeTasks", {"Limit": "5"})
    assert err is not None and err.code == "InvalidParameter"


@pytest.mark.parametrize(
    ("action", "params", "code", "words"),
    [
        (
            "DescribeTasks",
            {"Limit": 101},
            "InvalidParameterValue.Limit",
            "`Limit` must be from 1 to 100",
        ),
        (
            "DescribeTasks",
            {"Limit": 0},
            "InvalidParameterValue.Limit",
            "`Limit` must be from 1 to 100",
        ),
        (
            "DescribeTranscodeTemplates",
            {"Offset": -1},
            "InvalidParameterValue.Offset",
            "at least 0",
        ),
        (
            "DescribeTranscodeTemplates",
            {"Definitions": [1] * 101},
            "InvalidParameterValue.Definitions",
            "at most 100 items",
        ),
        (
            "DescribeTranscodeTemplates",
            {"Type": "Mine"},
            "InvalidParameterValue.Type",
            "'Preset' or 'Custom'",
        ),
        ("DescribeTasks", {"Status": "DONE"}, "InvalidParameterValue.Status", "'FINISH'"),
        (
            "ManageTask",
            {"TaskId": "t", "OperationType": "Pause"},
            "InvalidParameterValue.InvalidOperationType",
            "'Abort'",
        ),
        (
            "CreateTranscodeTemplate",
            {"Container": "mp4", "Name": "n" * 65},
            "InvalidParameterValue.Name",
            "at most 64 characters",
        ),
        (
            "CreateTranscodeTemplate",
            {"Container": "mp4", "Comment": "c" * 257},
            "InvalidParameterValue.Comment",
            "at most 256 characters",
        ),
        ("DescribeSubAppIds", {"Limit": 201}, "InvalidParameterValue.Limit", "from 1 to 200"),
    ],
)
def test_field_sub_codes_and_plain_messages(
    action: str, params: dict[str, Any], code: str, words: str
) -> None:
    err = answer_at(
        action, params, (next(iter(params)),) if len(params) == 1 else (list(params)[-1],)
    )
    assert err is not None and err.code == code and words in err.message, err
