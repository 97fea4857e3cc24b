"""Which request fields of Tencent's SDK vodflow honours, and which it refuses.

The field list comes from the installed SDK (`tencentcloud.vod.v20180717.models`,
the `<Action>Request` class of every action vodflow registers, and the structures
they nest); the verdict from vodflow's request models: a field of the model is
honoured, a field in its `REFUSED` is refused by name. A field that is neither
would be answered `UnknownParameter`, which is wrong for a field Tencent
documents; `tests/unit/test_api_coverage.py` fails on one.

`python -m vodflow.api.coverage` rewrites the generated table of
docs/api-coverage.md; the same test fails when the table is stale.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tencentcloud.vod.v20180717 import models as sdk

from vodflow.api.registry import load_all
from vodflow.wire.common import Input

BEGIN = "<!-- BEGIN generated field table: python -m vodflow.api.coverage -->"
END = "<!-- END generated field table -->"
DOC = Path(__file__).resolve().parents[3] / "docs" / "api-coverage.md"

_NESTED = re.compile(r"(?:self\._\w+|obj) = (\w+)\(\)")
_PARAM = re.compile(r'params\.get\("(\w+)"\)')


@dataclass(frozen=True)
class FieldRow:
    action: str
    path: str  # dotted, e.g. MediaProcessTask.TranscodeTaskSet.WatermarkSet
    verdict: str  # "honoured", "refused" or "missing"
    note: str = ""


def sdk_fields(cls: type) -> list[tuple[str, type | None]]:
    """The fields of an SDK structure in its order, each with its nested structure."""
    names = [k[1:] for k in vars(cls()) if k.startswith("_")]
    nested: dict[str, type] = {}
    current = ""
    for line in inspect.getsource(cls._deserialize).splitlines():  # type: ignore[attr-defined]
        param = _PARAM.search(line)
        if param:
            current = param.group(1)
        made = _NESTED.search(line)
        if made and current and hasattr(sdk, made.group(1)):
            nested[current] = getattr(sdk, made.group(1))
    return [(n, nested.get(n)) for n in names]


def _nested_model(annotation: Any) -> type[Input] | None:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation if issubclass(annotation, Input) else None
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _model_fields(model: type[Input]) -> dict[str, Any]:
    return {info.alias or name: info.annotation for name, info in model.model_fields.items()}


def compare(action: str, sdk_cls: type, model: type[Input], prefix: str = "") -> list[FieldRow]:
    rows: list[FieldRow] = []
    ours = _model_fields(model)
    for name, nested in sdk_fields(sdk_cls):
        path = prefix + name
        if name in model.REFUSED:
            rows.append(FieldRow(action, path, "refused", model.REFUSED[name]))
        elif name not in ours:
            rows.append(FieldRow(action, path, "missing"))
        else:
            rows.append(FieldRow(action, path, "honoured", model.NOTES.get(name, "")))
            sub = _nested_model(ours[name])
            if nested is not None and sub is not None:
                rows += compare(action, nested, sub, path + ".")
    return rows


def table_rows() -> list[FieldRow]:
    rows: list[FieldRow] = []
    for name, act in sorted(load_all().items()):
        sdk_cls = getattr(sdk, f"{name}Request", None)
        if sdk_cls is None or act.extension:
            continue
        rows += compare(name, sdk_cls, act.model)  # type: ignore[arg-type]
    return rows


def render() -> str:
    lines = [
        BEGIN,
        "",
        "| Action | Field | vodflow |",
        "|---|---|---|",
    ]
    for row in table_rows():
        verdict = {"honoured": "honoured", "refused": "**refused**", "missing": "MISSING"}
        text = verdict[row.verdict] + (f": {row.note}" if row.note else "")
        lines.append(f"| {row.action} | `{row.path}` | {text} |")
    lines += ["", END]
    return "\n".join(lines)


def updated(doc: str) -> str:
    """The doc with its generated table replaced (appended when absent)."""
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + render() + tail
    return doc.rstrip("\n") + "\n\n" + render() + "\n"


def main() -> None:
    text = DOC.read_text()
    new = updated(text)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if new == text else 1)
    DOC.write_text(new)


if __name__ == "__main__":
    main()
