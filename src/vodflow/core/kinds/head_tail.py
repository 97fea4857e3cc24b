"""Head/tail templates: a video joined before (head) and after (tail) a transcode's main one.

Not a subtask kind of its own: a TranscodeTaskInput names these templates in its
`HeadTailSet` and the Transcode kind joins them (`resolve` below picks the videos,
`media.ops.headtail` builds the join into the same FFmpeg run). A template holds up
to 5 candidate FileIds per side, videos of the same application's library; at run
time the candidate whose aspect ratio is closest to the main media's is used, the
earlier one on a tie (Tencent: "转码时将自动选择与正片宽高比最接近的一个片头（相同宽高比时，
靠前的候选项优先）"). Several templates in one HeadTailSet: their heads play in order
before the main media, their tails in order after it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from vodflow.core.kinds.base import TemplateKind
from vodflow.core.template_rules import FILL_TYPES, bad
from vodflow.errors import VodError
from vodflow.media.ops.headtail import HeadTail, Piece

# Create/ModifyHeadTailTemplate: "最多支持 5 个候选片头" (and tails); vod_client.py:
# "最大支持模板数量为 100 个".
MAX_CANDIDATES = 5
SIDES = ("HeadCandidateSet", "TailCandidateSet")

MediaLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]


def rules(params: dict[str, Any]) -> dict[str, Any]:
    """Create's rules (and a Modify's merged result's): sizes and FillType (default stretch)."""
    out: dict[str, Any] = {}
    for side in SIDES:
        ids = list(params.get(side) or [])
        if len(ids) > MAX_CANDIDATES:
            raise VodError(
                "InvalidParameterValue.FileIdsTooMany",
                f"{side} lists {len(ids)} FileIds; at most {MAX_CANDIDATES} are allowed.",
            )
        out[side] = ids
    fill = params.get("FillType")
    out["FillType"] = "stretch" if fill is None else fill
    if out["FillType"] not in FILL_TYPES:
        raise bad("FillType", f"expected one of {', '.join(sorted(FILL_TYPES))}.")
    return out


TEMPLATES = TemplateKind(name="HeadTail", rules=rules, presets={}, max_templates=100, typed=False)


def usable(media: Mapping[str, Any] | None) -> bool:
    """A candidate must be a media whose original is still there and is a video
    (a picture that lasts: a still image or a sound file is no head)."""
    if media is None or not media.get("path"):
        return False
    meta = media.get("meta") or {}
    lasts = float(meta.get("VideoDuration") or meta.get("Duration") or 0) > 0
    return bool(meta.get("VideoStreamSet")) and bool(meta.get("Width")) and lasts


async def check_candidates(params: Mapping[str, Any], lookup: MediaLookup) -> None:
    """Every FileId given is a video of the application's library."""
    for side in SIDES:
        for n, file_id in enumerate(params.get(side) or []):
            if not usable(await lookup(file_id)):
                raise VodError(
                    "InvalidParameterValue.FileId",
                    f"{side}.{n}: `{file_id}` is not a video media of this application.",
                )


def _shape(meta: Mapping[str, Any]) -> float:
    """log(width/height) of the picture as shown (a 90/270 rotation swaps the sides)."""
    width, height = float(meta.get("Width") or 0), float(meta.get("Height") or 0)
    if int(meta.get("Rotate") or 0) % 180 == 90:
        width, height = height, width
    return math.log(width / height) if width > 0 and height > 0 else 0.0


async def _pick(ids: Sequence[str], target: float, lookup: MediaLookup) -> Mapping[str, Any] | None:
    best: tuple[float, Mapping[str, Any]] | None = None
    for file_id in ids:
        media = await lookup(file_id)
        if not usable(media):
            continue  # deleted since the template named it: the others may do
        assert media is not None
        distance = abs(_shape(media.get("meta") or {}) - target)
        if best is None or distance < best[0]:  # strictly closer: the earlier wins ties
            best = (distance, media)
    return best[1] if best else None


async def resolve(
    templates: Sequence[Mapping[str, Any]], main_meta: Mapping[str, Any], lookup: MediaLookup
) -> HeadTail:
    """The heads and tails of a HeadTailSet's templates (in order) for this main media.

    A side whose every candidate is gone is an error of the template, raised as
    VodError(SourceFileError) for the subtask's result.
    """
    target = _shape(main_meta)
    heads: list[Piece] = []
    tails: list[Piece] = []
    for tpl in templates:
        for side, pieces in zip(SIDES, (heads, tails), strict=True):
            ids = tpl.get(side) or []
            if not ids:
                continue
            media = await _pick(ids, target, lookup)
            if media is None:
                raise VodError(
                    "SourceFileError",
                    f"the head/tail template {tpl.get('Definition')}: no media of its "
                    f"{side} exists any more",
                )
            pieces.append(Piece(str(media["path"]), str(tpl.get("FillType") or "stretch")))
    return HeadTail(tuple(heads), tuple(tails))
