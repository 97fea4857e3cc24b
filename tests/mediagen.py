"""Test media, generated on demand with ffmpeg's lavfi sources (testsrc2, sine).

Nothing is checked in: every test builds the exact media it needs, small and
fast. The hostile files (corrupt, truncated, text, playlists pointing at
secrets, absurd headers) are built here too, so the tests that refuse them
read like the attack they defend against.

Keep the signatures of ``make_video`` and ``make_seed_clip`` stable: e2e
tests of other packages call them.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import zlib
from collections.abc import Sequence
from pathlib import Path

from vodflow.media.ffmpeg import ffmpeg_exe

_CONTAINER_BY_SUFFIX = {
    ".mp4": "mp4",
    ".m4a": "ipod",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".flv": "flv",
    ".ts": "mpegts",
    ".avi": "avi",
    ".mp3": "mp3",
}


def ffmpeg(*args: str, timeout: float = 300) -> None:
    """Run ffmpeg synchronously (test-media generation only), raising on failure."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr[-2000:]}")


def _fps_expr(fps: float | str) -> str:
    if isinstance(fps, str):
        return fps
    for num, den in ((24000, 1001), (30000, 1001), (60000, 1001)):
        if abs(fps - num / den) < 0.01:
            return f"{num}/{den}"
    return f"{fps:g}"


def make_video(
    path: str | os.PathLike[str],
    *,
    duration: float = 4.0,
    width: int = 320,
    height: int = 240,
    fps: float | str = 25,
    vcodec: str = "libx264",
    vbitrate: str = "300k",
    audio: bool = True,
    arate: int = 48000,
    achannels: int = 2,
    acodec: str = "aac",
    abitrate: str = "128k",
    rotate: int = 0,
    preset: str = "ultrafast",
    gop: int | None = None,
    extra: Sequence[str] = (),
) -> Path:
    """A testsrc2 clip (+ a sine tone) whose container follows the file suffix.

    ``rotate`` is clockwise degrees written as a display matrix, i.e. what
    :func:`vodflow.media.probe` reports back as ``rotate``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = _fps_expr(fps)
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={duration}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={arate}:duration={duration}"]
    args += ["-map", "0:v"]
    args += ["-c:v", vcodec, "-b:v", vbitrate, "-pix_fmt", "yuv420p"]
    if vcodec in ("libx264", "libx265"):
        args += ["-preset", preset]
    if vcodec == "libx265":
        args += ["-x265-params", "log-level=error"]
        if path.suffix in (".mp4", ".mov"):
            args += ["-tag:v", "hvc1"]
    if gop:
        args += ["-g", str(gop)]
    if audio:
        args += ["-map", "1:a", "-c:a", acodec, "-b:a", abitrate, "-ac", str(achannels)]
    if rotate % 360:
        # -display_rotation is counter-clockwise and an input option, so
        # rotate by remuxing the encoded stream.
        tmp = path.with_name(f".unrotated-{path.name}")
        ffmpeg(*args, *extra, "-f", _CONTAINER_BY_SUFFIX.get(path.suffix, "mp4"), str(tmp))
        try:
            ffmpeg(
                "-display_rotation:v:0",
                str((360 - rotate) % 360),
                "-i",
                str(tmp),
                "-c",
                "copy",
                str(path),
            )
        finally:
            tmp.unlink(missing_ok=True)
        return path
    fmt = _CONTAINER_BY_SUFFIX.get(path.suffix)
    ffmpeg(*args, *extra, *(["-f", fmt] if fmt else []), str(path))
    return path


def make_seed_clip(path: str | os.PathLike[str], duration: float = 60.0) -> Path:
    """The seed's source: 640x480, 23.976 fps H.264 ~640 kbps, AAC 48 kHz stereo, MP4."""
    return make_video(
        path,
        duration=duration,
        width=640,
        height=480,
        fps="24000/1001",
        vbitrate="640k",
        arate=48000,
        achannels=2,
        abitrate="128k",
        preset="veryfast",
    )


def make_audio_only(
    path: str | os.PathLike[str], *, duration: float = 3.0, arate: int = 48000
) -> Path:
    """An AAC audio-only file (m4a by default; the suffix picks the container)."""
    path = Path(path)
    codec = "libmp3lame" if path.suffix == ".mp3" else "aac"
    fmt = _CONTAINER_BY_SUFFIX.get(path.suffix, "ipod")
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={arate}:duration={duration}",
        "-ac",
        "2",
        "-c:a",
        codec,
        "-f",
        fmt,
        str(path),
    )
    return path


def make_png(path: str | os.PathLike[str], *, width: int = 320, height: int = 240) -> Path:
    """A single testsrc2 frame as PNG (JPEG if the suffix says so)."""
    path = Path(path)
    codec = "mjpeg" if path.suffix in (".jpg", ".jpeg") else "png"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate=1",
        "-frames:v",
        "1",
        "-c:v",
        codec,
        "-f",
        "image2",
        "-update",
        "1",
        str(path),
    )
    return path


def make_corrupt(path: str | os.PathLike[str], *, size: int = 64 * 1024, seed: int = 7) -> Path:
    """Deterministic random bytes: no container will recognise them."""
    path = Path(path)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def make_truncated(path: str | os.PathLike[str], *, keep: float = 0.5) -> Path:
    """A real MP4 cut short. The moov index sits at the end, so it is gone: unreadable."""
    path = Path(path)
    full = path.with_name(f".full-{path.name}")
    make_video(full, duration=2.0)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_zero_byte(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_text_renamed(path: str | os.PathLike[str]) -> Path:
    """Plain text wearing a media file's name."""
    path = Path(path)
    path.write_text("This is not a video, just some notes someone uploaded.\n" * 20)
    return path


HOSTILE_TARGETS = ("http://169.254.169.254/latest/meta-data/iam/", "file:///etc/passwd")


def make_hostile_hls(
    path: str | os.PathLike[str], targets: Sequence[str] = HOSTILE_TARGETS
) -> Path:
    """An HLS playlist whose "segments" are a cloud metadata URL and a local secret."""
    path = Path(path)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:0"]
    for target in targets:
        lines += ["#EXTINF:10.0,", target]
    lines.append("#EXT-X-ENDLIST")
    path.write_text("\n".join(lines) + "\n")
    return path


def make_concat_list(
    path: str | os.PathLike[str], targets: Sequence[str] = ("/etc/passwd",)
) -> Path:
    """An ffconcat list naming files the uploader has no business reading."""
    path = Path(path)
    lines = ["ffconcat version 1.0", *(f"file '{t}'" for t in targets)]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_huge_png_header(
    path: str | os.PathLike[str], *, width: int = 20000, height: int = 20000
) -> Path:
    """A valid-looking PNG whose header claims ``width``x``height``; the pixels are absent.

    Decoding it for real would need gigabytes, which is the point: the
    prober must refuse it from the header alone.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width * 3 + 1) * 2)  # two rows of many
    path = Path(path)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


COUNTER_BITS = 10
"""Bits of the frame number a counter video shows (frames 0-1023)."""


def make_counter_video(
    path: str | os.PathLike[str],
    *,
    duration: float = 4.0,
    width: int = 320,
    height: int = 240,
    fps: float | str = 25,
    vcodec: str = "libx264",
    audio: bool = False,
    noise: bool = False,
    vfr_after: int | None = None,
    audio_duration: float | None = None,
    extra: Sequence[str] = (),
) -> Path:
    """A video whose frame N shows N in binary: COUNTER_BITS vertical stripes,
    stripe b white when bit b of N is set (read back with tests.framecode).

    Survives scaling and JPEG, so any output image says which source frame it
    is. ``noise`` adds film grain (and white-noise audio) so bitrates are
    really spent. ``vfr_after`` makes the frame rate variable: frames from
    that index on are spaced 1.5 periods apart (real VFR timestamps).
    ``audio_duration`` makes the audio track longer (or shorter) than the video.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = _fps_expr(fps)
    frames = f"nullsrc=size={width}x{height}:rate={rate}:duration={duration}"
    lum = f"255*mod(floor(N/pow(2\\,floor(X*{COUNTER_BITS}/W)))\\,2)"
    chain = f"{frames},geq=lum='{lum}':cb=128:cr=128"
    if noise:
        chain += ",noise=alls=40:allf=t"
    if vfr_after is not None:
        k = int(vfr_after)
        chain += f",setpts='(N+if(gt(N\\,{k})\\,(N-{k})/2\\,0))/FRAME_RATE/TB'"
    args = ["-f", "lavfi", "-i", chain]
    if audio:
        src = "anoisesrc=a=0.5:c=white" if noise else "sine=frequency=440"
        seconds = duration if audio_duration is None else audio_duration
        args += ["-f", "lavfi", "-i", f"{src}:sample_rate=48000:duration={seconds}"]
    args += ["-map", "0:v", "-c:v", vcodec, "-pix_fmt", "yuv420p"]
    if vcodec in ("libx264", "libx265"):
        args += ["-preset", "ultrafast", "-crf", "18"]
    if vfr_after is not None:
        args += ["-fps_mode", "vfr"]
    if audio:
        args += ["-map", "1:a", "-c:a", "aac", "-b:a", "128k", "-ac", "2"]
        if audio_duration is None:
            args += ["-shortest"]
    fmt = _CONTAINER_BY_SUFFIX.get(path.suffix)
    ffmpeg(*args, *extra, *(["-f", fmt] if fmt else []), str(path))
    return path
