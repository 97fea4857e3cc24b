"""Watermark rules: the template's, a WatermarkSet's, and what a run draws.

A watermark template (Create/Modify/Describe/DeleteWatermarkTemplate) is stored
in the generic templates table as the family ``Watermark`` (`core/kinds/watermark.py`).
Its stored form is Tencent's, with one difference: an image template keeps
``ImageTemplate.ImageKey`` (the blob holding the decoded image, written by
`core/watermark_templates.py`) where the request had ``ImageContent`` and the
answer shows ``ImageUrl``; and ``Type`` (image/text/svg) is kept as ``WatermarkType``,
since a stored template's ``Type`` is Preset/Custom for every family.

A ``WatermarkSet`` (Transcode, AdaptiveDynamicStreaming, SnapshotByTimeOffset,
SampleSnapshot, CoverBySnapshot) is checked before a flow starts
(:func:`check_set`) and turned into media-layer watermarks when it runs
(:func:`resolve`); the drawing is `media/ops/watermark.py`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from vodflow.errors import VodError
from vodflow.media.errors import INVALID_INPUT, MediaError, MediaOpError
from vodflow.media.ops.watermark import (
    FONT_TYPES,
    ORIGINS,
    REPEAT_TYPES,
    Watermark,
    font_file,
    rasterize_svg,
    svg_natural_size,
)

FAMILY_NAME: Final = "Watermark"
TYPE: Final = "WatermarkType"  # the stored name of the request's Type
TYPES: Final = ("image", "text", "svg")
# The task sets whose items take a WatermarkSet, and those that make stills:
# Tencent: "文字水印不支持截图打水印", "SVG 水印不支持截图打水印".
SETS: Final = (
    "TranscodeTaskSet",
    "SnapshotByTimeOffsetTaskSet",
    "SampleSnapshotTaskSet",
    "CoverBySnapshotTaskSet",
    "AdaptiveDynamicStreamingTaskSet",
)
STILL_SETS: Final = frozenset(SETS[1:4])
MAX_TEXT: Final = 100  # WatermarkInput.TextContent: "长度不超过100个字符"
MAX_SVG: Final = 2_000_000  # WatermarkInput.SvgContent: "长度不超过 2000000 个字符"

_POS = re.compile(r"^(\d{1,5}(?:\.\d+)?)(px|%)$")
_SVG_LEN = re.compile(r"^(\d{1,5}(?:\.\d+)?)(px|%|W%|H%|S%|L%)$")
_FONT_SIZE = re.compile(r"^(\d{1,4})px$")
_COLOR = re.compile(r"^0x[0-9A-Fa-f]{6}$")
_SUBS = {"image": "ImageTemplate", "text": "TextTemplate", "svg": "SvgTemplate"}


def _bad(code: str, field: str, why: str) -> VodError:
    return VodError(f"InvalidParameterValue.{code}", f"The value of `{field}` is invalid: {why}")


def _str(value: Any, code: str, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(code, field, "must be a string.")
    return value.strip()


def _position(value: Any, code: str, field: str) -> str:
    text = _str(value, code, field)
    m = _POS.match(text)
    if m is None:
        raise _bad(code, field, "must be N px or N % (e.g. 10px, 5%).")
    if m.group(2) == "%" and float(m.group(1)) > 100:
        raise _bad(code, field, "a percentage must be at most 100%.")
    return text


def _image_size(value: Any, field: str, *, zero_ok: bool) -> str:
    """ImageTemplate.Width/Height: N% or N px in [8, 4096] (Height also 0px)."""
    text = _str(value, field, field)
    m = _POS.match(text)
    if m is None:
        raise _bad(field, field, "must be N px or N % (e.g. 100px, 10%).")
    number = float(m.group(1))
    if m.group(2) == "%":
        if not 0 < number <= 100:
            raise _bad(field, field, "a percentage must be in (0, 100].")
    elif not (8 <= number <= 4096 or (zero_ok and number == 0)):
        raise _bad(field, field, "pixels must be in [8, 4096]" + (" or 0px." if zero_ok else "."))
    return text


def _svg_size(value: Any, code: str, field: str) -> str:
    text = _str(value, code, field)
    m = _SVG_LEN.match(text)
    if m is None:
        raise _bad(code, field, "must be N px, N %, N W%, N H%, N S% or N L%.")
    number = float(m.group(1))
    if (m.group(2) == "px" and number > 4096) or (m.group(2) != "px" and number > 100):
        raise _bad(code, field, "at most 4096px or 100%.")
    return text


def _sub(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if not isinstance(value, Mapping):
        raise _bad(name, name, "is required for a watermark of this Type (an object).")
    return dict(value)


def rules(params: dict[str, Any]) -> dict[str, Any]:
    """Create's rules (and a Modify's merged result's): defaults filled, values checked."""
    kind = params.get(TYPE)
    if kind not in TYPES:
        raise _bad("Type", "Type", "must be image, text or svg.")
    origin = params.get("CoordinateOrigin", "TopLeft")
    if origin not in ORIGINS:
        raise _bad(
            "CoordinateOrigin",
            "CoordinateOrigin",
            "must be TopLeft, TopRight, BottomLeft or BottomRight.",
        )
    out: dict[str, Any] = {
        TYPE: kind,
        "CoordinateOrigin": origin,
        "XPos": _position(params.get("XPos", "0px"), "XPos", "XPos"),
        "YPos": _position(params.get("YPos", "0px"), "YPos", "YPos"),
    }
    for other_kind, other in _SUBS.items():
        if other_kind != kind and params.get(other) is not None:
            raise _bad(other, other, f"is only for {other_kind} watermarks (Type is {kind}).")
    if kind == "image":
        out["ImageTemplate"] = _image_rules(_sub(params, "ImageTemplate"))
    elif kind == "text":
        out["TextTemplate"] = _text_rules(_sub(params, "TextTemplate"))
    else:
        svg = _sub(params, "SvgTemplate")
        out["SvgTemplate"] = {
            "Width": _svg_size(svg.get("Width", "10W%"), "SvgTemplateWidth", "SvgTemplate.Width"),
            "Height": _svg_size(
                svg.get("Height", "0px"), "SvgTemplateHeight", "SvgTemplate.Height"
            ),
        }
    return out


def _image_rules(image: dict[str, Any]) -> dict[str, Any]:
    key = image.get("ImageKey")
    if not isinstance(key, str) or not key:
        raise _bad("ImageContent", "ImageTemplate.ImageContent", "is required.")
    repeat = image.get("RepeatType", "repeat")
    if repeat not in REPEAT_TYPES:
        raise _bad("RepeatType", "RepeatType", "must be once, repeat_last_frame or repeat.")
    transparency = image.get("Transparency", 0)
    if isinstance(transparency, bool) or not isinstance(transparency, int):
        raise _bad("ImageTemplate", "ImageTemplate.Transparency", "must be an integer.")
    if not 0 <= transparency <= 100:
        raise _bad("ImageTemplate", "ImageTemplate.Transparency", "must be in [0, 100].")
    return {
        "ImageKey": key,
        "Width": _image_size(image.get("Width", "10%"), "Width", zero_ok=False),
        "Height": _image_size(image.get("Height", "0px"), "Height", zero_ok=True),
        "RepeatType": repeat,
        "Transparency": transparency,
    }


def _text_rules(text: dict[str, Any]) -> dict[str, Any]:
    font = text.get("FontType")
    if font not in FONT_TYPES:
        raise _bad("TextTemplate", "TextTemplate.FontType", "must be arial.ttf or simkai.ttf.")
    size = _str(text.get("FontSize"), "TextTemplate", "TextTemplate.FontSize")
    m = _FONT_SIZE.match(size)
    if m is None or not 1 <= int(m.group(1)) <= 1000:
        raise _bad("TextTemplate", "TextTemplate.FontSize", "must be Npx with N in [1, 1000].")
    color = _str(text.get("FontColor", "0xFFFFFF"), "TextTemplate", "TextTemplate.FontColor")
    if not _COLOR.match(color):
        raise _bad("TextTemplate", "TextTemplate.FontColor", "must be 0xRRGGBB.")
    alpha = text.get("FontAlpha", 1)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
        raise _bad("TextAlpha", "TextTemplate.FontAlpha", "must be in (0, 1].")
    return {
        "FontType": font,
        "FontSize": size,
        "FontColor": color.upper().replace("0X", "0x"),
        "FontAlpha": float(alpha),
    }


# ----- WatermarkSet ------------------------------------------------------------

Find = Callable[[int], Awaitable[dict[str, Any] | None]]


async def check_set(set_name: str, items: Any, find: Find) -> None:
    """Refuse a WatermarkSet naming unknown templates or content its templates cannot use."""
    if not isinstance(items, list):
        raise _bad("Watermarks", f"{set_name}.N.WatermarkSet", "must be a list.")
    for n, item in enumerate(items):
        field = f"{set_name}.N.WatermarkSet.{n}"
        definition = item.get("Definition") if isinstance(item, Mapping) else None
        if isinstance(definition, bool) or not isinstance(definition, int):
            raise _bad("Watermarks", f"{field}.Definition", "must be an integer.")
        tpl = await find(definition)
        if tpl is None:
            raise VodError(
                "InvalidParameterValue.Watermarks",
                f"{field}.Definition: the watermark template `{definition}` does not exist.",
            )
        kind = tpl[TYPE]
        if set_name in STILL_SETS and kind != "image":
            raise _bad(
                "Watermarks", field, f"{kind} watermarks cannot be put on snapshots (image only)."
            )
        text, svg = item.get("TextContent"), item.get("SvgContent")
        if kind == "text" and not text:
            raise _bad("Watermarks", f"{field}.TextContent", "a text watermark needs its text.")
        if kind == "svg" and not svg:
            raise _bad("SvgTemplate", f"{field}.SvgContent", "an SVG watermark needs its SVG.")
        if text is not None and kind != "text":
            raise _bad("Watermarks", f"{field}.TextContent", "is only for text watermarks.")
        if svg is not None and kind != "svg":
            raise _bad("Watermarks", f"{field}.SvgContent", "is only for SVG watermarks.")
        if svg is not None and "<svg" not in svg:
            raise _bad("SvgTemplate", f"{field}.SvgContent", "is not an SVG document.")


def set_key(item: Mapping[str, Any]) -> str:
    """A stable text of a task's WatermarkSet ("" without one), to tell renditions apart."""
    marks = item.get("WatermarkSet")
    return json.dumps(marks, sort_keys=True) if marks else ""


def definitions(item: Mapping[str, Any]) -> list[int]:
    """The watermark templates a task item names (WaterMarkDefinition of its stills)."""
    return [int(m["Definition"]) for m in item.get("WatermarkSet") or []]


async def resolve(
    items: Sequence[Mapping[str, Any]] | None,
    find: Find,
    blob_path: Callable[[str], Path],
    work: Path,
    *,
    threads: int | None = None,
) -> tuple[Watermark, ...]:
    """The media-layer watermarks of a WatermarkSet, their text and SVG written into ``work``.

    Raises ``MediaOpError``: ``InvalidInput.DefinitionNotExist`` for a template
    deleted since the flow was checked, ``InvalidInput`` for an SVG librsvg cannot read.
    """
    marks: list[Watermark] = []
    for n, item in enumerate(items or []):
        definition = int(item["Definition"])
        tpl = await find(definition)
        if tpl is None:
            raise MediaOpError(
                "InvalidInput.DefinitionNotExist",
                f"the Watermark template {definition} does not exist",
            )
        common: dict[str, Any] = {
            "origin": tpl["CoordinateOrigin"],
            "x": tpl["XPos"],
            "y": tpl["YPos"],
            "start": float(item.get("StartTimeOffset") or 0.0),
            "end": float(item.get("EndTimeOffset") or 0.0),
            "definition": definition,
        }
        work.mkdir(parents=True, exist_ok=True)
        if tpl[TYPE] == "image":
            image = tpl["ImageTemplate"]
            marks.append(
                Watermark(
                    "image",
                    blob_path(image["ImageKey"]),
                    width=image["Width"],
                    height=image["Height"],
                    animated=str(image["ImageKey"]).endswith(".gif"),
                    repeat=image["RepeatType"],
                    opacity=1 - image["Transparency"] / 100,
                    **common,
                )
            )
        elif tpl[TYPE] == "text":
            text = tpl["TextTemplate"]
            path = work / f"watermark-{n}.txt"
            path.write_text(str(item.get("TextContent") or ""), encoding="utf-8")
            marks.append(
                Watermark(
                    "text",
                    path,
                    font=font_file(text["FontType"]),
                    font_size=int(text["FontSize"][:-2]),
                    font_color=text["FontColor"],
                    opacity=float(text["FontAlpha"]),
                    **common,
                )
            )
        else:
            svg = str(item.get("SvgContent") or "")
            path, png = work / f"watermark-{n}.svg", work / f"watermark-{n}.png"
            path.write_text(svg, encoding="utf-8")
            try:
                await rasterize_svg(path, png, threads=threads)
            except MediaError as exc:
                raise MediaOpError(INVALID_INPUT, f"SvgContent: {exc.message}") from exc
            size = tpl["SvgTemplate"]
            marks.append(
                Watermark(
                    "image",
                    png,
                    width=size["Width"],
                    height=size["Height"],
                    natural=svg_natural_size(svg),
                    **common,
                )
            )
    return tuple(marks)
