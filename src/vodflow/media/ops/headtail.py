"""Head and tail: videos joined before and after the main one, inside a transcode's run.

A transcode with heads/tails decodes every piece in the same FFmpeg run: each
head and tail is scaled into the main picture's size per its template's fill type
(``stretch``, or letterboxed ``black``/``white``, or over a blurred copy ``gauss``),
brought to the main's frame rate, square pixels and yuv420p; every piece's sound is
resampled to 48 kHz stereo, a piece without sound gets silence of its own length
and sound ending early is padded; ``concat`` then joins head(s), main, tail(s). The
joined picture and sound replace the main input's streams at the start of the
transcode's graph (``media.ops.transcode_command``), so each rendition scales, pads and
encodes the whole as it would the main alone: one decode, one encode per rendition.

Durations: a head or tail lasts its video's length; the main, its clip window.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from fractions import Fraction

import av

from vodflow.media.ops._common import (
    FILL_TYPES,
    fit_filter,
    media_duration,
    plan_size,
    read_source,
    require_video,
    source_arg,
    unsupported,
)
from vodflow.media.probe import MediaProbe

AUDIO_RATE = 48000
DEFAULT_RATE = Fraction(25)
_SOUND = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


@dataclass(frozen=True, slots=True)
class Piece:
    """A head or tail video and how it fills the main picture's shape."""

    path: str
    fill_type: str = "stretch"


@dataclass(frozen=True, slots=True)
class HeadTail:
    """Pieces played before (``heads``) and after (``tails``) the main media, in order."""

    heads: tuple[Piece, ...] = ()
    tails: tuple[Piece, ...] = ()


@dataclass(frozen=True, slots=True)
class Joined:
    """What the transcode's graph starts from instead of the main input's streams."""

    inputs: tuple[str, ...]  # ffmpeg input arguments after the main input (index 0)
    graph: str  # filter chains ending in the labels below
    video: str | None  # label of the joined picture, if asked
    audio: str | None  # label of the joined sound, if asked and any piece has sound
    duration: float  # seconds of the whole


@dataclass(frozen=True, slots=True)
class Prepared:
    """The probed pieces of a HeadTail around one main source."""

    main: MediaProbe
    heads: tuple[tuple[Piece, MediaProbe], ...]
    tails: tuple[tuple[Piece, MediaProbe], ...]
    rate: Fraction  # the main video's frame rate, which the pieces take

    @property
    def has_audio(self) -> bool:
        return any(p.has_audio for p in (self.main, *self._probes()))

    def _probes(self) -> list[MediaProbe]:
        return [probe for _, probe in (*self.heads, *self.tails)]

    def join(self, main_duration: float, *, video: bool, audio: bool) -> Joined:
        """The filter graph joining the pieces around the main input's window."""
        width, height = plan_size(self.main.display_size, 0, 0)
        audio = audio and self.has_audio
        inputs: list[str] = []
        graph: list[str] = []
        order: list[str] = []
        total = 0.0
        pieces = [*self.heads, None, *self.tails]
        for n, entry in enumerate(pieces):
            if entry is None:
                probe, index, length, fill = self.main, 0, main_duration, "stretch"
            else:
                piece, probe = entry
                inputs += ["-i", source_arg(piece.path)]
                index, length, fill = len(inputs) // 2, media_duration(probe), piece.fill_type
            labels = ""
            if video:
                stream = require_video(probe).index
                tag = f"ht{n}"
                graph.append(fit_filter(f"{index}:{stream}", f"{tag}f", width, height, fill, tag))
                chain = f"[{tag}f]setpts=PTS-STARTPTS"
                if entry is not None:  # the main keeps its own frame timing
                    chain += f",fps={self.rate},trim=duration={length:.6f},setpts=PTS-STARTPTS"
                graph.append(f"{chain},format=yuv420p[{tag}v]")
                labels += f"[{tag}v]"
            if audio:
                if probe.audio_streams:
                    src = f"[{index}:{probe.audio_streams[0].index}]aresample={AUDIO_RATE},"
                    src += f"{_SOUND},asetpts=PTS-STARTPTS,apad"
                else:
                    src = f"anullsrc=r={AUDIO_RATE}:cl=stereo,{_SOUND}"
                graph.append(f"{src},atrim=duration={length:.6f}[ht{n}a]")
                labels += f"[ht{n}a]"
            order.append(labels)
            total += length
        outs = ("[htjv]" if video else "") + ("[htja]" if audio else "")
        graph.append(f"{''.join(order)}concat=n={len(pieces)}:v={int(video)}:a={int(audio)}{outs}")
        return Joined(
            inputs=tuple(inputs),
            graph=";".join(graph),
            video="htjv" if video else None,
            audio="htja" if audio else None,
            duration=total,
        )


async def prepare(head_tail: HeadTail, main: MediaProbe, main_path: str) -> Prepared:
    """Probe the pieces (each must be a video) and read the main's exact frame rate."""
    require_video(main)
    for piece in (*head_tail.heads, *head_tail.tails):
        if piece.fill_type not in FILL_TYPES:
            raise unsupported(f"fill type {piece.fill_type!r} is not supported")

    async def probed(pieces: tuple[Piece, ...]) -> tuple[tuple[Piece, MediaProbe], ...]:
        found = []
        for piece in pieces:
            probe = await read_source(piece.path)
            require_video(probe)
            found.append((piece, probe))
        return tuple(found)

    rate = await asyncio.to_thread(_frame_rate, main_path)
    return Prepared(main, await probed(head_tail.heads), await probed(head_tail.tails), rate)


def _frame_rate(path: str | os.PathLike[str]) -> Fraction:
    """The main video's average frame rate, exactly (23.976 is 24000/1001, not 23)."""
    try:
        with av.open(os.fspath(path)) as container:
            rate = container.streams.video[0].average_rate
    except (av.FFmpegError, IndexError, OSError):
        return DEFAULT_RATE
    if not rate or rate <= 0 or rate > 240:
        return DEFAULT_RATE
    return Fraction(rate.numerator, rate.denominator)
