"""Outputs exactly as templated (issue 10), through the official SDK and a real server.

Every test uploads a generated source, runs a flow with ProcessMedia, downloads
the outputs from the URLs the API gave and inspects them with PyAV: which
source frame an image shows (counter videos, tests/framecode), which rate
control the encoder used, which segment decodes alone, which bitrate sum.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests import framecode, mediagen
from tests.flows_support import add_media, wait_task
from tests.servers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d{3}) --> .*\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", re.M)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("accuracy")
    return {
        "counter": mediagen.make_counter_video(
            root / "counter.mp4", duration=6, fps=25, audio=True
        ),
        "noise": mediagen.make_counter_video(
            root / "noise.mp4", duration=2, fps=25, noise=True, audio=True
        ),
        "long": mediagen.make_counter_video(root / "long.mp4", duration=21, fps=25, audio=True),
        # 4 s of video, 6 s of audio: the container lasts longer than the picture.
        "short_video": mediagen.make_counter_video(
            root / "short_video.mp4", duration=4, fps=25, audio=True, audio_duration=6
        ),
        "vfr": mediagen.make_counter_video(root / "vfr.mp4", duration=4, fps=25, vfr_after=40),
        "small": mediagen.make_counter_video(
            root / "small.mp4", duration=2, width=640, height=360, fps=30, audio=True
        ),
    }


@pytest.fixture(scope="module")
def file_ids(server: ServerProcess, sources: dict[str, Path]) -> dict[str, str]:
    return {name: add_media(server, path, name=name) for name, path in sources.items()}


def run_flow(server: ServerProcess, file_id: str, task: dict[str, Any]) -> list[dict[str, Any]]:
    """ProcessMedia, wait, and return the subtask bodies (Status SUCCESS asserted)."""
    task_id = server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": task})["TaskId"]
    detail = wait_task(server, task_id)
    bodies = []
    for result in detail["ProcedureTask"]["MediaProcessResultSet"]:
        body = next(v for k, v in result.items() if k != "Type" and v)
        assert body["Status"] == "SUCCESS", body
        bodies.append(body)
    return bodies


def fetch(url: str, target: Path) -> Path:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, url
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(response.content)
    return target


def create(server: ServerProcess, kind: str, **params: Any) -> int:
    return int(server.call(f"Create{kind}Template", params)["Definition"])


# --- 1. sampling ---


def test_sample_snapshots_and_sprite_cells_start_at_the_first_frame(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    sample = create(
        server, "SampleSnapshot", SampleType="Time", SampleInterval=1, Format="png", Name="s"
    )
    sprite = create(
        server,
        "ImageSprite",
        SampleType="Time",
        SampleInterval=1,
        RowCount=2,
        ColumnCount=2,
        Width=160,
        Height=128,
        Name="sp",
    )
    task = {
        "SampleSnapshotTaskSet": [{"Definition": sample}],
        "ImageSpriteTaskSet": [{"Definition": sprite}],
    }
    samples, sprites = run_flow(server, file_ids["counter"], task)
    frames = framecode.source_frames(sources["counter"])

    urls = samples["Output"]["ImageUrlSet"]
    shown = [framecode.image_number(fetch(u, tmp_path / f"s{k}.png")) for k, u in enumerate(urls)]
    assert shown == [framecode.shown_at(frames, float(k)) for k in range(len(urls))]
    assert shown[:3] == [0, 25, 50]

    out = sprites["Output"]
    vtt = httpx.get(out["WebVttUrl"], timeout=30).text
    sheets = {u: fetch(u, tmp_path / f"sheet{k}.jpg") for k, u in enumerate(out["ImageUrlSet"])}
    cues = CUE.findall(vtt)
    assert len(cues) == 6 and len(sheets) == 2
    assert out["TotalCount"] == 4  # SDK: thumbnails in each sheet (2 x 2), not in all
    for h, m, s, url, *box in cues:
        start = int(h) * 3600 + int(m) * 60 + float(s)
        (cell,) = framecode.sheet_numbers(sheets[url], [tuple(map(int, box))])  # type: ignore[list-item]
        assert cell == framecode.shown_at(frames, start)


# --- 4. Vcrf ---


def rate_control(path: Path) -> tuple[str, float | None]:
    """(rc mode, crf) from the encoder's settings SEI in the stream."""
    data = path.read_bytes()
    rc = re.search(rb"rc=(\w+)", data)
    crf = re.search(rb"[ -]crf=([\d.]+)", data)
    assert rc is not None
    return rc.group(1).decode(), float(crf.group(1)) if crf else None


def video(**kw: Any) -> dict[str, Any]:
    return {"Codec": "libx264", "Fps": 25, "Bitrate": 300, **kw}


def audio(**kw: Any) -> dict[str, Any]:
    return {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2, **kw}


def test_vcrf_switches_to_crf(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    defs = {
        crf: create(
            server,
            "Transcode",
            Container="mp4",
            Name=f"crf{crf}",
            VideoTemplate=video(Vcrf=crf),
            AudioTemplate=audio(),
        )
        for crf in (10, 40)
    }
    task = {"TranscodeTaskSet": [{"Definition": d} for d in defs.values()]}
    bodies = run_flow(server, file_ids["noise"], task)
    rates = {}
    for body in bodies:
        out = body["Output"]
        crf = next(c for c, d in defs.items() if d == out["Definition"])
        path = fetch(out["Url"], tmp_path / f"crf{crf}.mp4")
        assert rate_control(path) == ("crf", float(crf))
        rates[crf] = out["VideoStreamSet"][0]["Bitrate"]
    # Bitrate 300 kbps no longer applies: CRF 10 spends far more, 40 far less.
    assert rates[10] > 3 * 300_000 and rates[10] > 5 * rates[40]


# --- 3. H.265 HLS ---


def segments_alone(playlist_url: str, tmp_path: Path) -> list[tuple[float, list[int]]]:
    """(EXTINF, counters decoded from the segment opened alone) for each segment."""
    text = httpx.get(playlist_url, timeout=30).text
    base = playlist_url.rsplit("/", 1)[0]
    out: list[tuple[float, list[int]]] = []
    extinf = 0.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            extinf = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            seg = fetch(f"{base}/{line}", tmp_path / "segs" / line.replace("/", "_"))
            with av.open(str(seg)) as container:
                frames = list(container.decode(video=0))
            assert frames and frames[0].key_frame, line
            out.append((extinf, [framecode.frame_number(f) for f in frames]))
    return out


def check_independent(segments: list[tuple[float, list[int]]], fps: float) -> list[int]:
    """Each segment alone decodes a contiguous run continuing the previous one, as long
    as its EXTINF says; returns the first counter of each segment (the cut points)."""
    expected = 0
    for extinf, numbers in segments:
        assert numbers == list(range(expected, expected + len(numbers)))
        assert abs(len(numbers) / fps - extinf) < 0.5 / fps, (extinf, len(numbers))
        expected += len(numbers)
    return [numbers[0] for _, numbers in segments]


def test_h265_hls_segments_decode_alone(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    (body,) = run_flow(server, file_ids["long"], {"TranscodeTaskSet": [{"Definition": 101210}]})
    out = body["Output"]
    assert out["VideoStreamSet"][0]["Codec"] == "hevc"
    cuts = check_independent(segments_alone(out["Url"], tmp_path), 25)
    assert cuts == [0, 250, 500]


def test_adaptive_h264_and_h265_renditions_cut_alike(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    streams = [
        {"Video": video(Height=240), "Audio": audio()},
        {"Video": video(Codec="libx265", Height=240), "Audio": audio()},
    ]
    definition = create(
        server,
        "AdaptiveDynamicStreaming",
        Format="HLS",
        Name="mixed",
        StreamInfos=streams,
        SegmentDuration=5,
    )
    task = {"AdaptiveDynamicStreamingTaskSet": [{"Definition": definition}]}
    (body,) = run_flow(server, file_ids["long"], task)
    master_url = body["Output"]["Url"]
    master = httpx.get(master_url, timeout=30).text
    base = master_url.rsplit("/", 1)[0]
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert len(variants) == 2 and "#EXT-X-INDEPENDENT-SEGMENTS" in master
    cuts = [
        check_independent(segments_alone(f"{base}/{v}", tmp_path / f"v{i}"), 25)
        for i, v in enumerate(variants)
    ]
    assert cuts[0] == cuts[1] == [0, 125, 250, 375, 500]  # SegmentDuration 5 s


# --- 5. fMP4 HLS ---


def test_segment_type_fmp4_makes_fragmented_mp4_hls(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    definition = create(
        server,
        "Transcode",
        Container="hls",
        SegmentType="fmp4",
        Name="fmp4",
        VideoTemplate=video(Height=240),
        AudioTemplate=audio(),
    )
    (body,) = run_flow(server, file_ids["long"], {"TranscodeTaskSet": [{"Definition": definition}]})
    out = body["Output"]
    playlist = httpx.get(out["Url"], timeout=30)
    text = playlist.text
    assert "#EXT-X-VERSION:7" in text
    (init_uri,) = re.findall(r'^#EXT-X-MAP:URI="([^"]+)"$', text, re.M)
    base = out["Url"].rsplit("/", 1)[0]
    init = httpx.get(f"{base}/{init_uri}", timeout=30).content
    assert init[4:8] == b"ftyp" and b"moov" in init
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    extinfs = [float(x) for x in re.findall(r"^#EXTINF:([\d.]+),", text, re.M)]
    expected, total = 0, len(playlist.content) + len(init)
    for k, (uri, extinf) in enumerate(zip(uris, extinfs, strict=True)):
        segment = httpx.get(f"{base}/{uri}", timeout=30).content
        total += len(segment)
        assert b"moof" in segment[:4096] and b"mdat" in segment  # fragments, not MPEG-TS
        alone = tmp_path / f"seg{k}.mp4"
        alone.write_bytes(init + segment)  # an fMP4 segment plays after the init segment
        with av.open(str(alone)) as container:
            frames = list(container.decode(video=0))
        numbers = [framecode.frame_number(f) for f in frames]
        assert frames[0].key_frame and numbers == list(range(expected, expected + len(numbers)))
        assert abs(len(numbers) / 25 - extinf) < 0.02
        expected += len(numbers)
    assert expected == 525 and out["Size"] == total


# --- 7. Bitrate = video + audio ---


def packet_rates(path: Path) -> list[int]:
    """Bits per second of each stream (video first, then audio), from its packets."""
    with av.open(str(path)) as container:
        streams = [*container.streams.video, *container.streams.audio]
        totals = {s.index: 0 for s in streams}
        for packet in container.demux(*streams):
            if packet.size:
                totals[packet.stream.index] += packet.size
        return [int(totals[s.index] * 8 / float(s.duration * s.time_base)) for s in streams]


def test_bitrate_is_the_sum_of_the_streams(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    (info,) = server.call("DescribeMediaInfos", {"FileIds": [file_ids["noise"]]})["MediaInfoSet"]
    meta = info["MetaData"]
    (v,), (a,) = meta["VideoStreamSet"], meta["AudioStreamSet"]
    assert meta["Bitrate"] == v["Bitrate"] + a["Bitrate"]
    assert meta["Bitrate"] != int(meta["Size"] * 8 / meta["Duration"])
    for reported, measured in zip((v, a), packet_rates(sources["noise"]), strict=True):
        assert reported["Bitrate"] == pytest.approx(measured, rel=0.02)

    (body,) = run_flow(server, file_ids["noise"], {"TranscodeTaskSet": [{"Definition": 100010}]})
    out = body["Output"]
    (ov,), (oa,) = out["VideoStreamSet"], out["AudioStreamSet"]
    assert out["Bitrate"] == ov["Bitrate"] + oa["Bitrate"]
    path = fetch(out["Url"], tmp_path / "out.mp4")
    for reported, measured in zip((ov, oa), packet_rates(path), strict=True):
        assert reported["Bitrate"] == pytest.approx(measured, rel=0.02)


# --- 9. timing ---


def test_percent_offsets_are_of_the_video_and_100_is_the_last_frame(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    for name in ("short_video", "vfr"):
        frames = framecode.source_frames(sources[name])
        (info,) = server.call("DescribeMediaInfos", {"FileIds": [file_ids[name]]})["MediaInfoSet"]
        video_duration = info["MetaData"]["VideoDuration"]
        task = {
            "SnapshotByTimeOffsetTaskSet": [
                {"Definition": 10, "ExtTimeOffsetSet": ["50%", "100%"]}
            ],
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Percent", "PositionValue": 50}
            ],
        }
        shots, cover = run_flow(server, file_ids[name], task)
        urls = [p["Url"] for p in shots["Output"]["PicInfoSet"]]
        shown = [
            framecode.image_number(fetch(u, tmp_path / f"{name}{k}.jpg"))
            for k, u in enumerate(urls)
        ]
        middle = framecode.shown_at(frames, video_duration / 2)
        assert shown == [middle, frames[-1][1]], name
        cover_path = fetch(cover["Output"]["CoverUrl"], tmp_path / f"{name}-cover.jpg")
        assert framecode.image_number(cover_path) == middle


def test_gif_frames_start_at_the_start_frame(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    definition = create(server, "AnimatedGraphics", Format="gif", Fps=10, Name="g")
    task = {
        "AnimatedGraphicTaskSet": [
            {"Definition": definition, "StartTimeOffset": 1.23, "EndTimeOffset": 2.23}
        ]
    }
    (body,) = run_flow(server, file_ids["counter"], task)
    frames = framecode.source_frames(sources["counter"])
    shown = framecode.image_numbers(fetch(body["Output"]["Url"], tmp_path / "a.gif"))
    assert shown == [framecode.shown_at(frames, 1.23 + k / 10) for k in range(10)]


# --- 6. every accepted format runs ---

# (Container, AudioTemplate.Codec) -> (FFmpeg demuxer name part, codec PyAV reads back)
AUDIO_FORMATS = {
    ("mp3", "libmp3lame"): ("mp3", "mp3"),
    ("m4a", "libfdk_aac"): ("mp4", "aac"),
    ("m4a", "libmp3lame"): ("mp4", "mp3"),
    ("m4a", "ac3"): ("mp4", "ac3"),
    ("flac", "flac"): ("flac", "flac"),
    ("ogg", "flac"): ("ogg", "flac"),
    ("wav", "pcm16"): ("wav", "pcm_s16le"),
}


def test_every_audio_container_and_codec_the_rules_accept_runs(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    defs = {}
    for (container, codec), _ in AUDIO_FORMATS.items():
        rate = 16000 if codec == "pcm16" else 44100
        defs[(container, codec)] = create(
            server,
            "Transcode",
            Container=container,
            Name=f"{container}-{codec}",
            AudioTemplate=audio(Codec=codec, SampleRate=rate),
        )
    defs[("mp4", "mp2")] = create(
        server,
        "Transcode",
        Container="mp4",
        Name="mp4-mp2",
        VideoTemplate=video(),
        AudioTemplate=audio(Codec="mp2"),
    )
    task = {"TranscodeTaskSet": [{"Definition": d} for d in defs.values()]}
    bodies = run_flow(server, file_ids["counter"], task)
    by_def = {b["Output"]["Definition"]: b["Output"] for b in bodies}
    for (container, codec), definition in defs.items():
        out = by_def[definition]
        path = fetch(out["Url"], tmp_path / f"{definition}.{container}")
        assert path.suffix == f".{container}"
        with av.open(str(path)) as media:
            if container != "mp4":
                demuxer, name = AUDIO_FORMATS[(container, codec)]
                assert demuxer in media.format.name and not media.streams.video
                assert media.streams.audio[0].codec_context.name.startswith(name)
            else:
                # MP2 in MP4 is object type 0x6B, which FFmpeg reads as MPEG audio.
                assert media.streams.video and media.streams.audio
                packet = next(media.demux(audio=0))
                header = bytes(packet)[:4]
                layer = (header[1] >> 1) & 3
                assert header[0] == 0xFF and layer == 2  # '10' = Layer II
            frames = sum(1 for _ in media.decode(audio=0))
            assert frames > 0
    wav = by_def[defs[("wav", "pcm16")]]
    assert wav["AudioStreamSet"][0]["SamplingRate"] == 16000  # as the template asked


@pytest.mark.parametrize(
    ("container", "codec"),
    [("flv", "mp2"), ("hls", "libmp3lame"), ("wav", "libfdk_aac"), ("ogg", "libfdk_aac")],
)
def test_formats_that_cannot_run_are_refused_at_creation(
    server: ServerProcess, container: str, codec: str
) -> None:
    params: dict[str, Any] = {"Container": container, "AudioTemplate": audio(Codec=codec)}
    if container in ("flv", "hls"):
        params["VideoTemplate"] = video()
    with pytest.raises(TencentCloudSDKException) as info:
        server.call("CreateTranscodeTemplate", params)
    assert info.value.get_code() == "InvalidParameterValue.Codec"


def test_webp_snapshots_samples_and_sprites(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    shot = create(server, "SnapshotByTimeOffset", Format="webp", Name="w")
    sample = create(
        server, "SampleSnapshot", Format="webp", SampleType="Time", SampleInterval=2, Name="w"
    )
    sprite = create(
        server,
        "ImageSprite",
        Format="webp",
        SampleType="Time",
        SampleInterval=2,
        RowCount=2,
        ColumnCount=2,
        Width=160,
        Height=128,
        Name="w",
    )
    task = {
        "SnapshotByTimeOffsetTaskSet": [{"Definition": shot, "ExtTimeOffsetSet": ["1s"]}],
        "SampleSnapshotTaskSet": [{"Definition": sample}],
        "ImageSpriteTaskSet": [{"Definition": sprite}],
    }
    shots, samples, sprites = run_flow(server, file_ids["counter"], task)
    urls = [shots["Output"]["PicInfoSet"][0]["Url"], *samples["Output"]["ImageUrlSet"]]
    urls += sprites["Output"]["ImageUrlSet"]
    numbers = []
    for k, url in enumerate(urls):
        assert url.endswith(".webp")
        path = fetch(url, tmp_path / f"{k}.webp")
        head = path.read_bytes()[:12]
        assert head[:4] == b"RIFF" and head[8:] == b"WEBP"
        numbers.append(framecode.image_number(path))
    assert numbers[:4] == [25, 0, 50, 100]


# --- 11. validation as the SDK documents it ---


@pytest.mark.parametrize(
    ("kind", "params", "code"),
    [
        # CreateImageSpriteTemplate: Width/Height 0 or [128, 4096].
        ("ImageSprite", {"Width": 64}, "InvalidParameterValue.Width"),
        ("ImageSprite", {"Height": 127}, "InvalidParameterValue.Height"),
        ("ImageSprite", {"Width": 128, "Height": 128}, None),
        # Create{SnapshotByTimeOffset,SampleSnapshot}Template: 0 or [32, 4096].
        ("SnapshotByTimeOffset", {"Width": 31}, "InvalidParameterValue.Width"),
        ("SnapshotByTimeOffset", {"Width": 32, "Height": 32}, None),
        ("SampleSnapshot", {"Height": 4097}, "InvalidParameterValue.Height"),
    ],
)
def test_image_sizes_follow_the_sdk(
    server: ServerProcess, kind: str, params: dict[str, Any], code: str | None
) -> None:
    base: dict[str, Any] = {"Name": "v"}
    if kind in ("ImageSprite", "SampleSnapshot"):
        base |= {"SampleType": "Percent", "SampleInterval": 10}
    if kind == "ImageSprite":
        base |= {"RowCount": 2, "ColumnCount": 2}
    if code is None:
        assert server.call(f"Create{kind}Template", {**base, **params})["Definition"]
        return
    with pytest.raises(TencentCloudSDKException) as info:
        server.call(f"Create{kind}Template", {**base, **params})
    assert info.value.get_code() == code


def test_image_source_through_an_audio_only_template_is_a_source_error(
    server: ServerProcess, tmp_path: Path
) -> None:
    still = add_media(server, mediagen.make_png(tmp_path / "still.png"), name="still")
    mp3 = create(
        server, "Transcode", Container="mp3", Name="mp3", AudioTemplate=audio(Codec="libmp3lame")
    )
    task_id = server.call(
        "ProcessMedia",
        {"FileId": still, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": mp3}]}},
    )["TaskId"]
    (result,) = wait_task(server, task_id)["ProcedureTask"]["MediaProcessResultSet"]
    body = result["TranscodeTask"]
    assert (body["Status"], body["ErrCodeExt"], body["ErrCode"]) == (
        "FAIL",
        "SourceFileError",
        60000,
    )


# --- 10. Width/Height are maxima: no upscaling ---


def test_no_kind_upscales_a_small_source(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    snap = create(server, "SnapshotByTimeOffset", Width=1280, Height=0, Name="big")
    gif = create(server, "AnimatedGraphics", Format="gif", Fps=10, Width=1280, Name="big")
    box = create(
        server,
        "Transcode",
        Container="mp4",
        Name="box",
        VideoTemplate=video(Width=1280, Height=1280, FillType="black"),
        AudioTemplate=audio(),
    )
    task = {
        "TranscodeTaskSet": [{"Definition": 100030}, {"Definition": 20}, {"Definition": box}],
        "SnapshotByTimeOffsetTaskSet": [{"Definition": snap, "ExtTimeOffsetSet": ["1s"]}],
        "AnimatedGraphicTaskSet": [{"Definition": gif, "StartTimeOffset": 0, "EndTimeOffset": 1}],
    }
    bodies = run_flow(server, file_ids["small"], task)
    sizes = {}
    for body in bodies:
        out = body["Output"]
        url = out.get("Url") or out["PicInfoSet"][0]["Url"]
        path = fetch(url, tmp_path / url.rsplit("/", 1)[-1])
        with av.open(str(path)) as media:
            frame = next(media.decode(video=0))
        sizes[out["Definition"]] = (frame.width, frame.height)
    # 720p and 480p presets on a 640x360 source: the source size, not upscaled.
    assert sizes[100030] == sizes[20] == (640, 360)
    assert sizes[box] == (360, 360)  # the 1:1 box, shrunk to fit inside the source
    assert sizes[snap] == sizes[gif] == (640, 360)


# --- 2. one output per Definition ---


@pytest.mark.parametrize(
    "task",
    [
        {
            "TranscodeTaskSet": [
                {"Definition": 100010},
                {"Definition": 100010, "StartTimeOffset": 2, "EndTimeOffset": 4},
            ]
        },
        {
            "SnapshotByTimeOffsetTaskSet": [
                {"Definition": 10, "ExtTimeOffsetSet": ["1s"]},
                {"Definition": 10, "ExtTimeOffsetSet": ["2s", "3s"]},
            ]
        },
    ],
)
def test_one_definition_asked_two_ways_is_refused_up_front(
    server: ServerProcess, file_ids: dict[str, str], task: dict[str, Any]
) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        server.call("ProcessMedia", {"FileId": file_ids["counter"], "MediaProcessTask": task})
    assert info.value.get_code() == "InvalidParameterValue"
    assert "Definition" in info.value.get_message()


def test_identical_repeats_share_one_output_that_everything_agrees_on(
    server: ServerProcess, sources: dict[str, Path], file_ids: dict[str, str], tmp_path: Path
) -> None:
    shot = {"Definition": 10, "ExtTimeOffsetSet": ["1s", "2s"]}
    clip = {"Definition": 100010, "StartTimeOffset": 1, "EndTimeOffset": 3}
    task = {"TranscodeTaskSet": [clip, clip], "SnapshotByTimeOffsetTaskSet": [shot, shot]}
    file_id = add_media(server, sources["counter"], name="repeats")
    bodies = run_flow(server, file_id, task)
    (info,) = server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
    (listed,) = info["TranscodeInfo"]["TranscodeSet"]
    (shots,) = info["SnapshotByTimeOffsetInfo"]["SnapshotByTimeOffsetSet"]
    frames = framecode.source_frames(sources["counter"])
    for body in bodies:
        out = body["Output"]
        if "PicInfoSet" in out:
            assert out["PicInfoSet"] == shots["PicInfoSet"]
            for k, pic in enumerate(out["PicInfoSet"]):
                path = fetch(pic["Url"], tmp_path / f"shot{k}.jpg")
                assert framecode.image_number(path) == framecode.shown_at(frames, 1.0 + k)
        else:
            assert (out["Url"], out["Md5"], out["Duration"]) == (
                listed["Url"],
                listed["Md5"],
                listed["Duration"],
            )
            path = fetch(out["Url"], tmp_path / "clip.mp4")
            assert hashlib.md5(path.read_bytes()).hexdigest() == out["Md5"]
            assert abs(out["Duration"] - 2.0) < 0.1


# --- every VideoTemplateInfo field the SDK documents: honoured or refused ---


def test_gop_unit_bframes_profile_and_hls_time_are_honoured(
    server: ServerProcess, file_ids: dict[str, str], tmp_path: Path
) -> None:
    definition = create(
        server,
        "Transcode",
        Container="hls",
        Name="knobs",
        VideoTemplate=video(
            Height=240, Gop=2, GopUnit="second", Bframes=0, VideoProfile="baseline", HlsTime=4
        ),
        AudioTemplate=audio(),
    )
    (body,) = run_flow(server, file_ids["long"], {"TranscodeTaskSet": [{"Definition": definition}]})
    playlist = httpx.get(body["Output"]["Url"], timeout=30).text
    extinfs = [float(x) for x in re.findall(r"^#EXTINF:([\d.]+),", playlist, re.M)]
    assert extinfs[:5] == [4.0] * 5  # HlsTime 4
    base = body["Output"]["Url"].rsplit("/", 1)[0]
    uri = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    segment = fetch(f"{base}/{uri}", tmp_path / "seg.ts")
    with av.open(str(segment)) as media:
        stream = media.streams.video[0]
        assert stream.codec_context.profile in ("Baseline", "Constrained Baseline")
        frames = list(media.decode(stream))
    keys = [k for k, f in enumerate(frames) if f.key_frame]
    assert keys == [0, 50]  # Gop 2 s at 25 fps: a keyframe every 50 frames, no scene cuts
    assert {str(f.pict_type) for f in frames} <= {"1", "2"}  # I and P only: Bframes 0


TRANSCODE = "CreateTranscodeTemplate"
ADAPTIVE = "CreateAdaptiveDynamicStreamingTemplate"


@pytest.mark.parametrize(
    ("action", "field", "params", "code"),
    [
        (TRANSCODE, "Mode", {"VideoTemplate": video(Mode="CBR")}, "UnsupportedOperation"),
        (
            TRANSCODE,
            "Bframes",
            {"VideoTemplate": video(Bframes=17)},
            "InvalidParameterValue.Bframes",
        ),
        (
            TRANSCODE,
            "HlsTime",
            {"VideoTemplate": video(HlsTime=11)},
            "InvalidParameterValue.HlsTime",
        ),
        (
            TRANSCODE,
            "VideoProfile",
            {"VideoTemplate": video(VideoProfile="high10")},
            "InvalidParameterValue.VideoProfile",
        ),
        (TRANSCODE, "StdExtInfo", {"StdExtInfo": "{}"}, "UnsupportedOperation"),
        (
            TRANSCODE,
            "EnhanceConfig",
            {"EnhanceConfig": {"VideoEnhance": {}}},
            "UnsupportedOperation",
        ),
        (ADAPTIVE, "DrmEncryptType", {"DrmEncryptType": "simpleaes"}, "UnsupportedOperation"),
        (
            ADAPTIVE,
            "HlsTime",
            {"StreamInfos": [{"Video": video(HlsTime=4), "Audio": audio()}]},
            "InvalidParameterValue.HlsTime",
        ),
        (
            ADAPTIVE,
            "SegmentDuration",
            {"SegmentDuration": 11},
            "InvalidParameterValue.SegmentDuration",
        ),
    ],
)
def test_sdk_fields_vodflow_cannot_honour_are_refused_by_name(
    server: ServerProcess, action: str, field: str, params: dict[str, Any], code: str
) -> None:
    if action == TRANSCODE:
        base: dict[str, Any] = {
            "Container": "mp4",
            "VideoTemplate": video(),
            "AudioTemplate": audio(),
        }
    else:
        base = {"Format": "HLS", "StreamInfos": [{"Video": video(), "Audio": audio()}]}
    with pytest.raises(TencentCloudSDKException) as info:
        server.call(action, {**base, **params})
    assert info.value.get_code() == code
    assert field in info.value.get_message()
