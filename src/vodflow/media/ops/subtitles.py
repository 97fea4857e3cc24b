"""Subtitles: reading WebVTT and SRT strictly, and carrying them into an HLS stream.

A subtitle file comes from an API caller, so it is parsed, not trusted: it must be
UTF-8 text, WebVTT (``WEBVTT`` signature, cue blocks with valid timings) or SRT
(numbered blocks with ``00:00:01,000 --> 00:00:02,000`` timings), with at least one
cue, or :class:`SubtitleError` says which line is wrong. SRT becomes WebVTT (its
``<i>``/``<b>``/``<u>`` kept, other markup dropped, ``&`` and ``<`` escaped), since
HLS carries WebVTT only.

In an adaptive stream each subtitle is a rendition of the ``SUBTITLES`` group
``subs``: a media playlist whose segments have exactly the durations of the video
segments (so a player fetches them in step), each a WebVTT file with the cues that
overlap it, at their original times, and an ``X-TIMESTAMP-MAP`` mapping cue time 0 to
the video's first timestamp (MPEG-TS streams start at 1.4 s, not 0). Layout beside
the master playlist ``<name>.m3u8``::

    <name>/subtitles/<id>.m3u8          the subtitle playlist
    <name>/subtitles/<id>/00000.vtt     its segments
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import av
import av.error

from vodflow.media.errors import INVALID_INPUT, MediaError
from vodflow.media.ffmpeg import PROTOCOL_WHITELIST

GROUP_ID: Final = "subs"
SUBTITLE_DIR: Final = "subtitles"
MAX_CUES: Final = 100_000
MPEG_CLOCK: Final = 90_000

_VTT_SIGNATURE = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_VTT_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$")
_VTT_TIME = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_SRT_TIMING = re.compile(
    r"^(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})[ \t]*-->[ \t]*"
    r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})(?:[ \t].*)?$"
)
_SRT_TAG = re.compile(r"<(/?)([A-Za-z]+)\b[^>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEPT_TAGS: Final = frozenset({"i", "b", "u"})


class SubtitleError(MediaError):
    """The bytes are not a subtitle file of the declared format."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_INPUT, message)


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue; times in integer milliseconds, `text` is WebVTT cue payload."""

    start: int
    end: int
    text: str
    ident: str = ""
    settings: str = ""


@dataclass(frozen=True, slots=True)
class Subtitles:
    """Parsed subtitles: cues in file order, and WebVTT STYLE/REGION blocks to keep."""

    cues: tuple[Cue, ...]
    blocks: tuple[str, ...] = ()

    def webvtt(self) -> str:
        """The whole file as WebVTT."""
        return _vtt(self.blocks, self.cues)


@dataclass(frozen=True, slots=True)
class Track:
    """A subtitle rendition as the master playlist names it."""

    id: str
    name: str
    language: str
    default: bool = False


# --- parsing -------------------------------------------------------------------------------


def parse(data: bytes, fmt: str) -> Subtitles:
    """Parse `data` as `fmt` (``vtt`` or ``srt``); raise SubtitleError if it is not one."""
    if not data.strip():
        raise SubtitleError("the subtitle is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubtitleError("the subtitle is not UTF-8 text") from None
    if _BINARY.search(text):
        raise SubtitleError("the subtitle holds binary (control) characters, not text")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if fmt == "vtt":
        subs = _parse_vtt(lines)
    elif fmt == "srt":
        subs = _parse_srt(lines)
    else:
        raise SubtitleError(f"unknown subtitle format {fmt!r}")
    if not subs.cues:
        raise SubtitleError("the subtitle has no cue")
    return subs


def _blocks(lines: list[str], first: int) -> list[tuple[int, list[str]]]:
    """(line number, lines) of each block: runs of lines between blank lines."""
    found: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = first
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            found.append((start, current))
            current = []
    if current:
        found.append((start, current))
    if len(found) > MAX_CUES:
        raise SubtitleError(f"the subtitle has more than {MAX_CUES} blocks")
    return found


def _vtt_time(value: str, line: int) -> int:
    m = _VTT_TIME.match(value)
    if m is None:
        raise SubtitleError(f"line {line}: {value[:32]!r} is not a WebVTT timestamp")
    hours, minutes, seconds, millis = (int(g or 0) for g in m.groups())
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def _parse_vtt(lines: list[str]) -> Subtitles:
    if not _VTT_SIGNATURE.match(lines[0]):
        raise SubtitleError("not WebVTT: the first line is not `WEBVTT`")
    # The header runs to the first blank line.
    first = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    cues: list[Cue] = []
    kept: list[str] = []
    for number, block in _blocks(lines, first):
        head = block[0]
        if head.startswith("NOTE") and (len(head) == 4 or head[4] in " \t"):
            continue
        if head.strip() in ("STYLE", "REGION") and not any("-->" in b for b in block):
            if not cues:  # only allowed before the first cue
                kept.append("\n".join(block))
            continue
        if "-->" in head:
            ident, timing, payload, at = "", head, block[1:], number
        elif len(block) > 1 and "-->" in block[1]:
            ident, timing, payload, at = head, block[1], block[2:], number + 1
        else:
            raise SubtitleError(f"line {number}: a block without a `-->` timing line")
        m = _VTT_TIMING.match(timing.strip())
        if m is None:
            raise SubtitleError(f"line {at}: {timing[:48]!r} is not a cue timing")
        start, end = _vtt_time(m.group(1), at), _vtt_time(m.group(2), at)
        if end <= start:
            raise SubtitleError(f"line {at}: the cue ends before it starts")
        for offset, text in enumerate(payload, start=at + 1):
            if "-->" in text:
                raise SubtitleError(f"line {offset}: cue text holds `-->` (a missing blank line?)")
        cues.append(Cue(start, end, "\n".join(payload), ident, (m.group(3) or "").strip()))
    return Subtitles(tuple(cues), tuple(kept))


def _parse_srt(lines: list[str]) -> Subtitles:
    cues: list[Cue] = []
    for number, block in _blocks(lines, 0):
        at = number
        if block[0].strip().isdigit():
            block, at = block[1:], number + 1
        m = _SRT_TIMING.match(block[0].strip()) if block else None
        if m is None:
            raise SubtitleError(f"line {at}: not an SRT cue (no `00:00:00,000 --> ...` timing)")
        g = [int(x) for x in m.groups()]
        start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + _millis(m.group(4))
        end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + _millis(m.group(8))
        if end <= start:
            raise SubtitleError(f"line {at}: the cue ends before it starts")
        cues.append(Cue(start, end, "\n".join(_srt_line(t) for t in block[1:])))
    return Subtitles(tuple(cues))


def _millis(digits: str) -> int:
    # SRT writers disagree on the width of the fraction: ",5" is half a second.
    return int(digits.ljust(3, "0"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _srt_line(line: str) -> str:
    """An SRT text line as WebVTT payload: i/b/u kept, other tags dropped, rest escaped."""
    line = _ASS_OVERRIDE.sub("", line)
    out: list[str] = []
    pos = 0
    for m in _SRT_TAG.finditer(line):
        out.append(_escape(line[pos : m.start()]))
        name = m.group(2).lower()
        if name in _KEPT_TAGS:
            out.append(f"<{m.group(1)}{name}>")
        pos = m.end()
    out.append(_escape(line[pos:]))
    return "".join(out)


# --- writing -------------------------------------------------------------------------------


def timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt(blocks: Sequence[str], cues: Sequence[Cue], header: str = "") -> str:
    parts = ["WEBVTT" + (f"\n{header}" if header else ""), *blocks]
    for cue in cues:
        timing = f"{timestamp(cue.start)} --> {timestamp(cue.end)}"
        if cue.settings:
            timing += f" {cue.settings}"
        lines = ([cue.ident] if cue.ident else []) + [timing] + ([cue.text] if cue.text else [])
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def segment(subs: Subtitles, durations: Sequence[float], mpegts: int) -> list[str]:
    """One WebVTT text per video segment: the cues overlapping it, at their own times.

    A cue spanning a boundary is repeated in each segment it overlaps (HLS's rule);
    cues after the last boundary go into the last segment.
    """
    header = f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000"
    edges = [0]
    for d in durations:
        edges.append(edges[-1] + round(d * 1000))
    texts = []
    for i in range(len(durations)):
        lo = edges[i]
        hi = edges[i + 1] if i + 1 < len(durations) else math.inf
        cues = [c for c in subs.cues if c.start < hi and c.end > lo]
        texts.append(_vtt(subs.blocks, cues, header))
    return texts


# --- in an HLS stream --------------------------------------------------------------------------


def track_dir(master: Path) -> Path:
    """The directory of a master playlist's subtitle renditions."""
    return master.with_suffix("") / SUBTITLE_DIR


def track_files(master: Path, track_id: str) -> list[Path]:
    """Every file of one subtitle rendition that exists now."""
    folder = track_dir(master)
    files = [folder / f"{track_id}.m3u8"]
    segments = folder / track_id
    if segments.is_dir():
        files += sorted(segments.iterdir())
    return [f for f in files if f.is_file()]


def write_track(master: Path, track_id: str, subs: Subtitles) -> list[Path]:
    """Write the rendition `track_id` beside `master`, aligned with its first variant.

    Each file is written aside and renamed into place, so a player reading the
    stream meanwhile sees a whole file or none. Returns the files written.
    """
    variant = _first_variant(master)
    durations, target = _segment_durations(variant)
    if not durations:
        raise SubtitleError("the adaptive stream has no segment to align subtitles with")
    mpegts = _first_timestamp(variant)
    folder = track_dir(master)
    segments = folder / track_id
    segments.mkdir(parents=True, exist_ok=True)
    written = []
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    texts = segment(subs, durations, mpegts)
    for i, (text, seconds) in enumerate(zip(texts, durations, strict=True)):
        name = f"{i:05d}.vtt"
        written.append(_write_atomic(segments / name, text))
        lines += [f"#EXTINF:{seconds:.6f},", f"{track_id}/{name}"]
    lines.append("#EXT-X-ENDLIST")
    written.insert(0, _write_atomic(folder / f"{track_id}.m3u8", "\n".join(lines) + "\n"))
    return written


def rewrite_master(master: Path, tracks: Sequence[Track]) -> None:
    """Make the master playlist name exactly `tracks` as its subtitle renditions."""
    text = master.read_text(encoding="utf-8")
    _write_atomic(master, master_text(text, master.with_suffix("").name, tracks))


def master_text(text: str, prefix: str, tracks: Sequence[Track]) -> str:
    """`text` (a master playlist) with its SUBTITLES group replaced by `tracks`.

    Each variant names the group in ``SUBTITLES=``; names are made unique in the
    group (HLS requires it) and cleared of characters a quoted string cannot hold.
    """
    kept = [
        line
        for line in text.splitlines()
        if not (line.startswith("#EXT-X-MEDIA:") and "TYPE=SUBTITLES" in line)
    ]
    media: list[str] = []
    names: set[str] = set()
    for track in tracks:
        name = _quoted(track.name) or track.id
        if name in names:
            name = f"{name} ({track.id})"
        names.add(name)
        default = "YES" if track.default else "NO"
        media.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP_ID}",NAME="{name}",'
            f'LANGUAGE="{_quoted(track.language)}",DEFAULT={default},AUTOSELECT=YES,'
            f'URI="{prefix}/{SUBTITLE_DIR}/{track.id}.m3u8"'
        )
    out: list[str] = []
    for line in kept:
        if line.startswith("#EXT-X-STREAM-INF:"):
            if media:
                out += media
                media = []
            line = re.sub(r',SUBTITLES="[^"]*"', "", line)
            if tracks:
                line += f',SUBTITLES="{GROUP_ID}"'
        out.append(line)
    return "\n".join(out) + "\n"


def _quoted(value: str) -> str:
    return re.sub(r'["\x00-\x1f\x7f]', "", value).strip()


def _write_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _first_variant(master: Path) -> Path:
    for line in master.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return master.parent / line
    raise SubtitleError("the master playlist names no variant")


def _segment_durations(playlist: Path) -> tuple[list[float], int]:
    durations: list[float] = []
    target = 0
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXTINF:"):
            durations.append(float(line[len("#EXTINF:") :].split(",")[0]))
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
    return durations, target or math.ceil(max(durations, default=1))


def _first_timestamp(playlist: Path) -> int:
    """Where the source's time 0 is in the stream (90 kHz), read by FFmpeg's HLS demuxer.

    MPEG-TS segments start after FFmpeg's 1.4 s muxing delay (plus the B-frame
    delay), so WebVTT cue time 0 must be mapped to the first video frame's
    timestamp for cues to show in step with the picture. Audio-only streams use
    the first audio timestamp.
    """
    options = {"protocol_whitelist": PROTOCOL_WHITELIST}
    container: Any
    firsts: dict[str, float] = {}
    try:
        with av.open(str(playlist), format="hls", options=options) as container:
            for count, packet in enumerate(container.demux()):
                if packet.pts is not None and packet.time_base is not None:
                    t = float(packet.pts * packet.time_base)
                    kind = packet.stream.type
                    firsts[kind] = min(t, firsts.get(kind, t))
                if count >= 32:  # past the first frames' reordering
                    break
    except av.error.FFmpegError:
        raise SubtitleError("the adaptive stream cannot be read") from None
    first = firsts.get("video", firsts.get("audio", 0.0))
    return max(0, round(first * MPEG_CLOCK))
