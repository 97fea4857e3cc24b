"""docs/api-coverage.md lists exactly the actions vodflow implements, and every request
field of the installed SDK's models is either honoured or refused by name."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from tencentcloud.vod.v20180717 import models as sdk

from tests.wire_support import kind_of
from vodflow.api import coverage
from vodflow.api.registry import load_all

DOC = Path(__file__).resolve().parents[2] / "docs" / "api-coverage.md"


def documented() -> dict[str, str]:
    """Action name -> the heading of the section that lists it."""
    found: dict[str, str] = {}
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = re.match(r"^\|\s*`?([A-Z][A-Za-z0-9]+)`?\s*\|", line)
        if match and match.group(1) != "Action":
            found.setdefault(match.group(1), section)  # the field table repeats names
    return found


def test_every_implemented_action_is_documented() -> None:
    missing = sorted(set(load_all()) - set(documented()))
    assert not missing, f"add these to docs/api-coverage.md: {missing}"


def test_every_documented_action_is_implemented() -> None:
    extra = sorted(set(documented()) - set(load_all()))
    assert not extra, f"docs/api-coverage.md lists unimplemented actions: {extra}"


def test_extensions_are_listed_as_extensions() -> None:
    docs = documented()
    for name, act in load_all().items():
        assert (docs[name] == "vodflow extensions") == act.extension, name


def test_every_tencent_action_has_an_sdk_request_model() -> None:
    for name, act in load_all().items():
        assert act.extension or hasattr(sdk, f"{name}Request"), name


def test_every_sdk_request_field_is_honoured_or_refused() -> None:
    """A field Tencent documents and vodflow neither honours nor refuses would answer
    UnknownParameter: the SDK's own models are the list."""
    rows = coverage.table_rows()
    missing = [f"{r.action}: {r.path}" for r in rows if r.verdict == "missing"]
    assert not missing, f"honour or refuse (REFUSED) these SDK fields: {missing}"
    paths = {(r.action, r.path): r.verdict for r in rows}
    # The sweep reaches nested structures and sees both verdicts.
    assert paths[("ProcessMedia", "MediaProcessTask.TranscodeTaskSet.TraceWatermark")] == "refused"
    assert paths[("ProcessMedia", "MediaProcessTask.TranscodeTaskSet.WatermarkSet")] == "honoured"
    assert paths[("ProcessMedia", "MediaProcessTask.TranscodeTaskSet.OverrideParameter")] == (
        "honoured"
    )
    assert paths[("CreateProcedureTemplate", "ReviewAudioVideoTask")] == "refused"
    assert paths[("CreateTranscodeTemplate", "VideoTemplate.Codec")] == "honoured"
    assert {r.action for r in rows} == {n for n, a in load_all().items() if not a.extension}


def test_the_field_table_is_current() -> None:
    text = DOC.read_text()
    assert coverage.BEGIN in text and coverage.END in text
    assert coverage.updated(text) == text, "run: python -m vodflow.api.coverage"


def _sdk_kind(cls: type, name: str) -> str:
    """The JSON kind the SDK documents (`:type X: int`, `list of str`, a structure)."""
    match = re.search(rf":type {name}: (.+)", inspect.getsource(cls.__init__))  # type: ignore[misc]
    assert match, (cls.__name__, name)
    text = match.group(1).strip()

    def one(word: str) -> str:
        word = word.split()[0]
        return word if word in ("int", "str", "float", "bool") else "model"

    if text.startswith("list of "):
        return "list of " + one(text.removeprefix("list of "))
    return "model" if ":class:" in text else one(text)


def _our_kind(annotation: Any) -> str:
    kind, arg = kind_of(annotation)
    if kind == "list":
        return "list of " + _our_kind(arg)
    return "str" if kind == "enum" else kind


def _type_mismatches(action: str, cls: type, model: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    ours = {i.alias or n: i.annotation for n, i in model.model_fields.items()}
    for name, nested in coverage.sdk_fields(cls):
        if name not in ours:
            continue
        if _sdk_kind(cls, name) != _our_kind(ours[name]):
            out.append(f"{action} {prefix}{name}: SDK {_sdk_kind(cls, name)}, vodflow "
                       f"{_our_kind(ours[name])}")  # fmt: skip
        sub = coverage._nested_model(ours[name])
        if nested is not None and sub is not None:
            out += _type_mismatches(action, nested, sub, f"{prefix}{name}.")
    return out


def test_every_honoured_field_has_the_sdk_s_json_type() -> None:
    """The strict type rule is only right if each field's type is Tencent's: an Integer
    Tencent documents must be an integer here, a String a string, at any depth."""
    wrong: list[str] = []
    for name, act in sorted(load_all().items()):
        cls = getattr(sdk, f"{name}Request", None)
        if cls is not None and not act.extension:
            wrong += _type_mismatches(name, cls, act.model)
    assert not wrong, wrong
