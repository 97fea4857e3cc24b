"""probe(): real generated media measured right, hostile files refused fast."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import mediagen
from tests.unit.media.conftest import Corpus
from vodflow.media.errors import CONTENT_MALFORMED, CONTENT_UNSUPPORTED, ProbeError
from vodflow.media.probe import MAX_DIMENSION, declared_image_size, file_md5, probe


def test_seedlike_clip_fields(corpus: Corpus) -> None:
    media = probe(corpus.seedlike)
    assert media.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert media.size == corpus.seedlike.stat().st_size
    assert media.md5 == hashlib.md5(corpus.seedlike.read_bytes()).hexdigest()
    assert (media.width, media.height, media.rotate) == (640, 480, 0)
    assert media.duration == pytest.approx(4.0, abs=0.1)
    assert media.video_duration == pytest.approx(4.0, abs=0.1)
    assert media.audio_duration == pytest.approx(4.0, abs=0.1)
    (video,) = media.video_streams
    assert (video.codec, video.codec_tag, video.fps) == ("h264", "avc1", 23)  # 23.976 truncated
    assert (video.width, video.height) == (640, 480)
    assert 400_000 < video.bitrate < 900_000
    (audio,) = media.audio_streams
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 48000, 2)
    assert 60_000 < audio.bitrate < 200_000
    assert media.bitrate == pytest.approx(media.size * 8 / media.duration, rel=0.05)
    assert media.has_video and media.has_audio and not media.is_image


def test_md5_is_optional_and_streamed(corpus: Corpus) -> None:
    assert probe(corpus.clip, md5=False).md5 == ""
    assert file_md5(corpus.clip) == hashlib.md5(corpus.clip.read_bytes()).hexdigest()


def test_hevc_codec_tag(corpus: Corpus) -> None:
    media = probe(corpus.hevc)
    (video,) = media.video_streams
    assert (video.codec, video.codec_tag) == ("hevc", "hvc1")
    assert not media.has_audio and media.audio_duration == 0


def test_rotation_from_display_matrix(corpus: Corpus) -> None:
    media = probe(corpus.rotated)
    assert media.rotate == 90
    assert (media.width, media.height) == (320, 240)  # stored size, as Tencent reports
    assert media.display_size == (240, 320)


def test_audio_only_is_valid_media(corpus: Corpus) -> None:
    media = probe(corpus.audio_only)
    assert not media.has_video and media.has_audio
    assert (media.width, media.height) == (0, 0)
    assert media.audio_streams[0].codec == "aac"
    assert media.audio_duration == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize(
    "attr,fmt,size", [("png", "png_pipe", (320, 240)), ("jpeg", "jpeg_pipe", (160, 120))]
)
def test_still_images(corpus: Corpus, attr: str, fmt: str, size: tuple[int, int]) -> None:
    media = probe(getattr(corpus, attr))
    assert media.is_image and media.has_video
    assert media.container == fmt  # by content: never the pattern-expanding image2
    assert (media.width, media.height) == size
    assert media.bitrate == 0


def test_stream_bitrate_estimated_when_container_has_none(corpus: Corpus) -> None:
    media = probe(corpus.mkv)
    assert media.container == "matroska,webm"
    assert 150_000 < media.video_streams[0].bitrate < 600_000
    assert 60_000 < media.audio_streams[0].bitrate < 200_000


HOSTILE: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "zero-byte": (mediagen.make_zero_byte, "x.mp4", CONTENT_MALFORMED),
    "truncated": (mediagen.make_truncated, "x.mp4", CONTENT_MALFORMED),
    "random bytes": (mediagen.make_corrupt, "x.mp4", CONTENT_MALFORMED),
    "text renamed": (mediagen.make_text_renamed, "x.mp4", CONTENT_MALFORMED),
    "hls playlist": (mediagen.make_hostile_hls, "x.m3u8", CONTENT_UNSUPPORTED),
    "hls renamed": (mediagen.make_hostile_hls, "x.mp4", CONTENT_UNSUPPORTED),
    "concat list": (mediagen.make_concat_list, "x.txt", CONTENT_UNSUPPORTED),
    "20000x20000 png": (mediagen.make_huge_png_header, "x.png", CONTENT_UNSUPPORTED),
    "9000x9000 png": (
        lambda p: mediagen.make_huge_png_header(p, width=9000, height=9000),
        "x.png",
        CONTENT_UNSUPPORTED,
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_files_are_refused_with_the_right_code(tmp_path: Path, case: str) -> None:
    make, name, code = HOSTILE[case]
    path = make(tmp_path / name)
    with pytest.raises(ProbeError) as info:
        await asyncio.wait_for(asyncio.to_thread(probe, path), timeout=10)  # never hangs
    assert info.value.code == code, info.value.message


def test_missing_file() -> None:
    with pytest.raises(ProbeError) as info:
        probe("/nonexistent/vodflow/file.mp4")
    assert info.value.code == "SourceFileError"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=4096))
def test_arbitrary_bytes_only_ever_raise_probe_error(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(data)
        fh.flush()
        try:
            probe(fh.name)
        except ProbeError as exc:
            assert exc.code in (CONTENT_MALFORMED, CONTENT_UNSUPPORTED)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["seedlike", "hevc", "mkv"]), cut=st.integers(16, 4000))
def test_header_damage_never_escapes_as_another_exception(
    corpus: Corpus, name: str, cut: int
) -> None:
    data = bytearray(getattr(corpus, name).read_bytes())
    data[cut : cut + 64] = bytes(64)  # zero a window in the header region
    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(data)
        fh.flush()
        try:
            probe(fh.name)
        except ProbeError as exc:
            assert exc.code in (CONTENT_MALFORMED, CONTENT_UNSUPPORTED)


def test_declared_image_sizes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        png = mediagen.make_huge_png_header(Path(tmp) / "a.png", width=123, height=45)
        assert declared_image_size(png.read_bytes()) == (123, 45)
        jpg = mediagen.make_png(Path(tmp) / "b.jpg", width=64, height=48)
        assert declared_image_size(jpg.read_bytes()) == (64, 48)
    assert declared_image_size(b"GIF89a\x10\x00\x20\x00rest") == (16, 32)
    assert declared_image_size(b"not an image") is None


@pytest.mark.slow
def test_full_seed_clip_matches_the_seed_metadata(tmp_path: Path) -> None:
    """make_seed_clip() as e2e tests use it: the seed's 60 s source, measured."""
    media = probe(mediagen.make_seed_clip(tmp_path / "seed.mp4"))
    assert media.duration == pytest.approx(60.0, abs=0.1)
    assert media.audio_duration == pytest.approx(60.0, abs=0.1)
    assert (media.width, media.height, media.container) == (640, 480, "mov,mp4,m4a,3gp,3g2,mj2")
    (video,) = media.video_streams
    assert (video.codec, video.fps) == ("h264", 23)
    assert 550_000 < video.bitrate < 750_000
    assert media.audio_streams[0].sample_rate == 48000


# --- a codec header that lies: an H.264 SPS claiming 16000x16000 ---------------------


def _ue(value: int) -> str:
    """Exp-Golomb code of `value`, as a string of bits."""
    bits = f"{value + 1:b}"
    return "0" * (len(bits) - 1) + bits


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.bits = "".join(f"{b:08b}" for b in data)
        self.pos = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return value

    def ue(self) -> int:
        zeros = self.bits.index("1", self.pos) - self.pos
        self.pos += zeros + 1
        return (1 << zeros) - 1 + self.u(zeros)


def _escape(rbsp: bytes) -> bytes:
    """Re-insert emulation prevention bytes (00 00 0x -> 00 00 03 0x)."""
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _resize_sps(nal: bytes, mbs_wide: int, mbs_high: int) -> bytes:
    """A Baseline-profile SPS NAL with its picture size (in macroblocks) replaced."""
    r = _Bits(nal[1:].replace(b"\0\0\3", b"\0\0"))
    assert r.u(8) == 66, "Baseline SPS expected"
    r.u(16)  # constraint flags, level_idc
    r.ue()  # seq_parameter_set_id
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.ue()
        r.ue()
        for _ in range(r.ue()):
            r.ue()
    r.ue()  # max_num_ref_frames
    r.u(1)  # gaps_in_frame_num_value_allowed_flag
    head = r.bits[: r.pos]
    r.ue()  # pic_width_in_mbs_minus1
    r.ue()  # pic_height_in_map_units_minus1
    tail = r.bits[r.pos :].rstrip("0")[:-1]  # without the rbsp stop bit
    bits = head + _ue(mbs_wide - 1) + _ue(mbs_high - 1) + tail + "1"
    bits += "0" * (-len(bits) % 8)
    return nal[:1] + _escape(bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)))


def make_lying_h264(path: Path, mbs: int) -> Path:
    """A 64x64 H.264 clip whose SPS claims (16*mbs)x(16*mbs), in `path`'s container."""
    small = path.with_name(path.stem + "-small.h264")
    mediagen.ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "1", "-c:v", "libx264",
        "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-f", "h264", str(small),
    )  # fmt: skip
    units = re.split(b"(\0\0\0\1|\0\0\1)", small.read_bytes())
    patched = b"".join(
        _resize_sps(u, mbs, mbs) if u and not u.startswith(b"\0\0") and u[0] & 0x1F == 7 else u
        for u in units
    )
    lying = small.with_suffix(".lying.h264")
    lying.write_bytes(patched)
    # Remuxed without decoding anything big: max_pixels caps the generator's own ffmpeg.
    mediagen.ffmpeg(
        "-max_pixels", "4096", "-f", "h264", "-framerate", "10", "-i", str(lying),
        "-c", "copy", str(path),
    )  # fmt: skip
    return path


_PROBE_IN_CHILD = """
import json, sys
from vodflow.media.errors import ProbeError
from vodflow.media.probe import probe
try:
    media = probe(sys.argv[1])
    result = {"size": [media.width, media.height]}
except ProbeError as exc:
    result = {"code": exc.code, "message": exc.message}
# VmHWM: this process image's own peak (ru_maxrss would keep the forking parent's).
status = open("/proc/self/status").read()
result["maxrss_kib"] = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps(result))
"""


@pytest.mark.parametrize("ext", ["mp4", "ts", "flv"])
def test_lying_h264_header_refused_without_decoding_the_giant_frame(
    tmp_path: Path, ext: str
) -> None:
    """16000x16000 is 256 MB of luma alone: the probe must refuse before allocating it.

    FLV creates its streams while reading packets, where no per-stream pixel cap
    reaches FFmpeg's stream-info decoders; this once decoded the lie (2 GB RSS).
    """
    mbs = 1000  # (16 * 1000)^2 passes FFmpeg's own sanity check, not MAX_DIMENSION
    assert 16 * mbs > MAX_DIMENSION
    path = make_lying_h264(tmp_path / f"lying.{ext}", mbs)
    child = subprocess.run(
        [sys.executable, "-c", _PROBE_IN_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result.get("code") == CONTENT_UNSUPPORTED, result
    assert "16000x16000" in result["message"]
    # Less memory than one luma plane of the claimed picture: it was never decoded.
    assert result["maxrss_kib"] * 1024 < (16 * mbs) ** 2, result


def test_flv_and_mpeg_ps_still_measured(tmp_path: Path) -> None:
    """The stream-info pass of FLV/PS decodes no video; sizes come from parsers or
    from one capped decode (FLV1 has no parser), and audio is still decoded."""
    base = mediagen.make_video(tmp_path / "base.mp4", duration=1.0)
    cases = {
        "h264.flv": ["-c", "copy"],
        "flv1.flv": ["-c:v", "flv1", "-c:a", "aac"],
        "mpeg2.mpg": ["-c:v", "mpeg2video", "-c:a", "mp2"],
    }
    for name, codec_args in cases.items():
        out = tmp_path / name
        mediagen.ffmpeg("-i", str(base), *codec_args, str(out))
        media = probe(out, md5=False)
        assert (media.width, media.height) == (320, 240), name
        (audio,) = media.audio_streams
        assert audio.sample_rate > 0 and audio.channels > 0, (name, audio)
