"""The two records a subtask kind is made of, and what its run sees.

`TemplateFamily` is a kind of parameter template (Create/Describe<Name>Template...)
and of media output (`media_outputs.kind`, a MediaInfo section); `Kind` is a kind of
subtask (an item of a MediaProcessTask). Most kinds own a family; CoverBySnapshot
shares SnapshotByTimeOffset's. Both are frozen: a descriptor is written once, in its
module under `core/kinds/`, and every table the rest of vodflow reads is derived
from them in `core/kinds/__init__.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vodflow.core import watermarks
from vodflow.core.subtitle_files import Carried
from vodflow.media.ops.watermark import Watermark
from vodflow.wire.common import WireModel
from vodflow.wire.tasks import RESULT_FIELDS

# Presets carry this creation time (Tencent shows a fixed date for presets too).
PRESET_TIME = "2018-10-01T00:00:00Z"

Rules = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class TemplateKind:
    """A kind of parameter template: Create/Modify/Delete/Describe<Name>Template(s)."""

    name: str  # Tencent's <Name> in Create<Name>Template
    rules: Rules  # Create's (and a Modify's merged result's) rules, normalising
    presets: Mapping[int, Mapping[str, Any]]  # Describe<Name>Templates items by Definition
    # Custom templates per application: Tencent's "数量上限" of Create<Name>Template
    # (the SDK's vod_client.py docstrings), answered with LimitExceeded.TooMuchTemplate.
    max_templates: int
    # TranscodeTemplate.Definition is a string in Tencent's answers, the others ints.
    string_definition: bool = False
    # Whether Describe<Name>Templates items carry `Type` (Preset/Custom); HeadTailTemplate
    # has none (nor presets).
    typed: bool = True

    def preset(self, definition: int) -> dict[str, Any] | None:
        """A copy of the preset (callers may change what they get)."""
        item = self.presets.get(definition)
        return copy.deepcopy(dict(item)) if item is not None else None

    def preset_list(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(dict(self.presets[d])) for d in sorted(self.presets)]


@dataclass(frozen=True, kw_only=True)
class TemplateFamily(TemplateKind):
    """A kind of parameter template that is also a kind of media output."""

    section: str  # MediaInfo section of its outputs (TranscodeInfo...); the media_outputs kind
    item_set: str  # the section's item list (TranscodeSet...)
    item_model: type[WireModel]  # the structure of one output item
    # DeleteMedia DeleteParts.Type that removes these outputs, if Tencent has one.
    delete_part: str | None = None


@dataclass
class Outcome:
    """What one subtask produced: a success with outputs, or a failure."""

    subtask_id: int
    ok: bool = False
    code: str = ""
    message: str = ""
    # The deprecated integer ErrCode when it is chosen (fault injection); 0: derived.
    err_code: int = 0
    output: dict[str, Any] | None = None
    # (family, definition, info, blob keys) for media_outputs, or the cover key.
    register: tuple[str, int, dict[str, Any], list[str]] | None = None
    cover_key: str | None = None
    # (path in the work dir, blob key) to move into the media's folder.
    moves: list[tuple[Path, str]] = field(default_factory=list)

    def fail(self, code: str, message: str) -> Outcome:
        self.ok, self.code, self.message = False, code, message
        return self


class RunContext(Protocol):
    """What a kind's run reads and writes: the claimed subtasks of one media."""

    @property
    def rows(self) -> Sequence[Mapping[str, Any]]:
        """The claimed subtask rows (one, or a kind's group), in claim order."""
        ...

    @property
    def src(self) -> str: ...

    @property
    def work(self) -> Path: ...

    @property
    def duration(self) -> float: ...

    @property
    def meta(self) -> Mapping[str, Any]:
        """The source's MetaData (Width, Height, Bitrate...)."""
        ...

    @property
    def cheap_media(self) -> bool:
        """Test only (core/cheap_media.py): write video tiny, report the template's shape."""
        ...

    async def template(self, family: str, definition: int) -> dict[str, Any] | None: ...

    async def other_media(self, file_id: str) -> Mapping[str, Any] | None:
        """Another media of the same application (`path`, `meta`), or None if gone."""
        ...

    def missing(self, o: Outcome, family: str, definition: int) -> None:
        """Fail `o`: its template is gone."""
        ...

    def key(self, path: Path) -> str:
        """The blob key `path` (in the work directory) will have once moved."""
        ...

    def url(self, path: Path) -> str: ...

    def url_of(self, name: str) -> str:
        """The public URL of `name` under the media's folder."""
        ...

    def entry(self, name: str) -> tuple[Path, str]:
        """(work path, blob key) of a top-level output named `name`."""
        ...

    def opts(self) -> dict[str, Any]:
        """on_progress and threads for a media op."""
        ...

    async def subtitles(self, ids: Sequence[str]) -> list[Carried]:
        """The media's subtitles of these ids (the ones that exist), in `ids` order."""
        ...

    def subtitle_item(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A subtitle's MediaSubtitleItem."""

    def blob_path(self, key: str) -> Path:
        """The file of a blob (a watermark template's image)."""
        ...


Run = Callable[[RunContext, list[Outcome]], Awaitable[None]]
OneRun = Callable[[RunContext, Mapping[str, Any], Mapping[str, Any], int, Outcome], Awaitable[None]]


@dataclass(frozen=True)
class Kind:
    """A kind of subtask: its Tencent names, the template it names, how it runs."""

    name: str  # MediaProcessTaskResult.Type, and subtasks.type
    task_set: str  # MediaProcessTaskInput's list of these
    input_model: type[WireModel]  # one item of `task_set`
    family: TemplateFamily  # the template its items name by Definition
    # Runs the claimed subtasks (one, or a group) and fills their outcomes.
    run: Run
    # Waiting siblings of the same kind whose group key matches are claimed and
    # run together (Transcode: one decode for every rendition of a clip window).
    group_key: Callable[[Mapping[str, Any]], Hashable] | None = None

    @property
    def result_field(self) -> str:
        """MediaProcessTaskResult's field holding the result (named in wire/, which shapes it)."""
        return RESULT_FIELDS[self.name]


def one(family: TemplateFamily, handler: OneRun) -> Run:
    """A kind that runs one subtask at a time: find its template, then `handler`."""

    async def run(ctx: RunContext, outcomes: list[Outcome]) -> None:
        (outcome,) = outcomes
        item = ctx.rows[0]["input"]
        definition = int(item.get("Definition", 0))
        tpl = await ctx.template(family.name, definition)
        if tpl is None:
            ctx.missing(outcome, family.name, definition)
            return
        await handler(ctx, tpl, item, definition, outcome)

    return run


def registered(
    ctx: RunContext,
    o: Outcome,
    family: TemplateFamily,
    definition: int,
    info: dict[str, Any],
    sub: str,
    paths: Sequence[Path],
) -> None:
    """A success whose outputs are the folder `sub` of the work directory."""
    o.ok, o.output, o.moves = True, info, [ctx.entry(sub)]
    o.register = (family.name, definition, info, [ctx.key(p) for p in paths])


async def watermarks_of(
    ctx: RunContext, item: Mapping[str, Any], sub: str
) -> tuple[Watermark, ...]:
    """What an item's WatermarkSet draws; its text and SVG files go to ``work/sub``."""
    if not item.get("WatermarkSet"):
        return ()

    async def find(definition: int) -> dict[str, Any] | None:
        return await ctx.template(watermarks.FAMILY_NAME, definition)

    return await watermarks.resolve(
        item["WatermarkSet"],
        find,
        ctx.blob_path,
        ctx.work / sub,
        threads=ctx.opts().get("threads"),
    )


# --- pieces of preset templates ------------------------------------------------------


def preset_video(height: int, bitrate: int, fps: int, codec: str = "libx264") -> dict[str, Any]:
    """A video stream whose short side is `height` and long side proportional."""
    return {
        "Codec": codec,
        "Fps": fps,
        "Bitrate": bitrate,
        "ResolutionAdaptive": "open",
        "Width": 0,
        "Height": height,
        "FillType": "black",
        "Vcrf": 0,
        "Gop": 0,
        "PreserveHDRSwitch": "OFF",
        "CodecTag": "hvc1",
    }


def preset_audio(bitrate: int, codec: str = "libfdk_aac") -> dict[str, Any]:
    return {"Codec": codec, "Bitrate": bitrate, "SampleRate": 44100, "AudioChannel": 2}


def preset_common(definition: int, name: str) -> dict[str, Any]:
    return {
        "Definition": definition,
        "Type": "Preset",
        "Name": name,
        "Comment": "",
        "CreateTime": PRESET_TIME,
        "UpdateTime": PRESET_TIME,
    }
