"""Parameter templates through the official SDK's typed models, against a real vodflow."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from tencentcloud.vod.v20180717 import models

from tests.assertions import call_code as raw_code
from tests.assertions import code_of
from tests.flows_support import add_media, wait_task
from tests.mediagen import make_video
from tests.servers import ServerProcess
from vodflow.media.probe import probe

pytestmark = pytest.mark.e2e

# Tencent's H.265 transcoding presets: FLU, SD, HD, FHD, 2K, 4K.
H265_MP4 = (101010, 101020, 101030, 101040, 101070, 101080)
H265_HLS = (101210, 101220, 101230, 101240, 101270, 101280)


def video(**kw) -> models.VideoTemplateInfo:  # type: ignore[no-untyped-def]
    v = models.VideoTemplateInfo()
    v.Codec, v.Fps, v.Bitrate = "libx264", 24, 800
    for k, val in kw.items():
        setattr(v, k, val)
    return v


def audio(**kw) -> models.AudioTemplateInfo:  # type: ignore[no-untyped-def]
    a = models.AudioTemplateInfo()
    a.Codec, a.Bitrate, a.SampleRate = "libfdk_aac", 64, 44100
    for k, val in kw.items():
        setattr(a, k, val)
    return a


def transcode_req(**kw) -> models.CreateTranscodeTemplateRequest:  # type: ignore[no-untyped-def]
    req = models.CreateTranscodeTemplateRequest()
    req.Container = "mp4"
    req.Name = "my-720"
    req.VideoTemplate = video(Height=720)
    req.AudioTemplate = audio()
    for k, val in kw.items():
        setattr(req, k, val)
    return req


# ----- presets -----


def test_transcode_presets_listed(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.DescribeTranscodeTemplatesRequest()
    req.Type = "Preset"
    req.Limit = 100
    resp = vod.DescribeTranscodeTemplates(req)
    ids = {t.Definition for t in resp.TranscodeTemplateSet}
    for d in (100010, 100020, 100030, 100040, 100070, 100080, 10, 20, 30, 40):
        assert str(d) in ids
    for d in (100210, 100220, 100230, 100240, 100270, 100280, 210, 220, 230, 240):
        assert str(d) in ids
    for d in H265_MP4 + H265_HLS:
        assert str(d) in ids
    assert resp.TotalCount == len(ids)
    by_id = {t.Definition: t for t in resp.TranscodeTemplateSet}
    hd = by_id["100030"]
    assert hd.Type == "Preset" and hd.Container == "mp4"
    assert hd.VideoTemplate.Height == 720 and hd.VideoTemplate.Bitrate == 1800
    assert hd.VideoTemplate.Fps == 25 and hd.AudioTemplate.Bitrate == 128
    assert by_id["100240"].Container == "hls"
    seed = by_id["20"]
    assert seed.VideoTemplate.Height == 480 and seed.VideoTemplate.Bitrate == 500
    assert seed.VideoTemplate.Fps == 24
    assert seed.AudioTemplate.Bitrate == 48 and seed.AudioTemplate.SampleRate == 44100
    for mp4, hls in zip(H265_MP4, H265_HLS, strict=True):
        a, b = by_id[str(mp4)], by_id[str(hls)]
        assert (a.Container, b.Container) == ("mp4", "hls")
        assert a.VideoTemplate.Codec == b.VideoTemplate.Codec == "libx265"
        assert a.VideoTemplate.Height == b.VideoTemplate.Height
    assert [by_id[str(d)].VideoTemplate.Height for d in H265_MP4] == [
        360,
        540,
        720,
        1080,
        1440,
        2160,
    ]


def test_h265_preset_transcodes_to_hevc_hvc1(server: ServerProcess, tmp_path: Path) -> None:
    file_id = add_media(
        server, make_video(tmp_path / "src.mp4", duration=2, width=640, height=480), name="h265"
    )
    task_id = server.call(
        "ProcessMedia",
        {
            "FileId": file_id,
            "MediaProcessTask": {
                "TranscodeTaskSet": [{"Definition": 101010}, {"Definition": 101210}]
            },
        },
    )["TaskId"]
    result, hls = wait_task(server, task_id)["ProcedureTask"]["MediaProcessResultSet"]
    assert hls["TranscodeTask"]["Status"] == "SUCCESS", hls
    assert hls["TranscodeTask"]["Output"]["VideoStreamSet"][0]["Codec"] == "hevc"
    assert hls["TranscodeTask"]["Output"]["Url"].endswith(".m3u8")
    task = result["TranscodeTask"]
    assert task["Status"] == "SUCCESS", task
    out = task["Output"]
    assert out["Definition"] == 101010 and out["Container"].startswith("mov,mp4")
    (stream,) = out["VideoStreamSet"]
    assert stream["Codec"] == "hevc" and stream["CodecTag"] == "hvc1"
    assert out["Height"] == 360 and out["Width"] == 480  # short side 360, 4:3 source
    key = unquote(urlparse(out["Url"]).path.removeprefix("/vod/"))
    (video,) = probe(server.settings().resolved_blob_dir / key).video_streams
    assert (video.codec, video.codec_tag) == ("hevc", "hvc1")


def test_other_presets_listed(server: ServerProcess) -> None:
    vod = server.vod()
    snap = vod.DescribeSnapshotByTimeOffsetTemplates(
        models.DescribeSnapshotByTimeOffsetTemplatesRequest()
    )
    ten = next(t for t in snap.SnapshotByTimeOffsetTemplateSet if t.Definition == 10)
    assert ten.Type == "Preset" and ten.Format == "jpg" and ten.Width == 0 and ten.Height == 0
    sample = vod.DescribeSampleSnapshotTemplates(models.DescribeSampleSnapshotTemplatesRequest())
    s10 = next(t for t in sample.SampleSnapshotTemplateSet if t.Definition == 10)
    assert (s10.SampleType, s10.SampleInterval) == ("Percent", 10)
    sprite = vod.DescribeImageSpriteTemplates(models.DescribeImageSpriteTemplatesRequest())
    p10 = next(t for t in sprite.ImageSpriteTemplateSet if t.Definition == 10)
    assert (p10.Width, p10.Height, p10.RowCount, p10.ColumnCount) == (142, 80, 10, 10)
    gif = vod.DescribeAnimatedGraphicsTemplates(models.DescribeAnimatedGraphicsTemplatesRequest())
    assert any(t.Definition == 20000 and t.Format == "gif" for t in gif.AnimatedGraphicsTemplateSet)
    ads = vod.DescribeAdaptiveDynamicStreamingTemplates(
        models.DescribeAdaptiveDynamicStreamingTemplatesRequest()
    )
    a10 = next(t for t in ads.AdaptiveDynamicStreamingTemplateSet if t.Definition == 10)
    assert a10.Format == "HLS" and len(a10.StreamInfos) == 3
    assert [s.Video.Height for s in a10.StreamInfos] == [360, 540, 720]


# One preset of each of the six parameter template kinds.
PRESET_OF_KIND = {
    "Transcode": 100010,
    "SnapshotByTimeOffset": 10,
    "SampleSnapshot": 10,
    "ImageSprite": 10,
    "AnimatedGraphics": 20000,
    "AdaptiveDynamicStreaming": 10,
}


@pytest.mark.parametrize(
    ("verb", "code"),
    [
        ("Modify", "InvalidParameterValue.ModifyDefaultTemplate"),
        ("Delete", "InvalidParameterValue.DeleteDefaultTemplate"),
    ],
)
@pytest.mark.parametrize("kind", list(PRESET_OF_KIND))
def test_presets_cannot_be_modified_or_deleted(
    server: ServerProcess, kind: str, verb: str, code: str
) -> None:
    vod = server.vod()
    definition = PRESET_OF_KIND[kind]
    req = getattr(models, f"{verb}{kind}TemplateRequest")()
    req.Definition = definition
    if verb == "Modify":
        req.Name = "mine now"
    assert code_of(getattr(vod, f"{verb}{kind}Template"), req) == code
    # The preset is still there, unchanged.
    describe = getattr(models, f"Describe{kind}TemplatesRequest")()
    describe.Definitions = [definition]
    got = getattr(vod, f"Describe{kind}Templates")(describe)
    (item,) = getattr(got, f"{kind}TemplateSet")
    assert item.Type == "Preset" and item.Name != "mine now"


# ----- Transcode lifecycle -----


def test_transcode_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    d1 = vod.CreateTranscodeTemplate(transcode_req(Comment="first")).Definition
    d2 = vod.CreateTranscodeTemplate(
        transcode_req(Container="hls", VideoTemplate=video(Codec="h265"), AudioTemplate=audio())
    ).Definition
    assert d1 > 1000000 and d2 > d1

    req = models.DescribeTranscodeTemplatesRequest()
    req.Definitions = [d1, d2, 100010]
    got = vod.DescribeTranscodeTemplates(req)
    assert got.TotalCount == 3
    by_id = {t.Definition: t for t in got.TranscodeTemplateSet}
    one = by_id[str(d1)]
    assert one.Type == "Custom" and one.Name == "my-720" and one.Comment == "first"
    assert one.VideoTemplate.Codec == "libx264" and one.VideoTemplate.Height == 720
    assert one.AudioTemplate.AudioChannel == 2
    assert one.CreateTime.endswith("Z") and one.UpdateTime.endswith("Z")
    two = by_id[str(d2)]
    assert two.Container == "hls" and two.VideoTemplate.Codec == "libx265"
    assert two.SegmentType == "ts"

    req = models.ModifyTranscodeTemplateRequest()
    req.Definition = d1
    req.Comment = "second"
    upd = models.VideoTemplateInfoForUpdate()
    upd.Bitrate = 1500
    req.VideoTemplate = upd
    vod.ModifyTranscodeTemplate(req)
    req = models.DescribeTranscodeTemplatesRequest()
    req.Definitions = [d1]
    (one,) = vod.DescribeTranscodeTemplates(req).TranscodeTemplateSet
    assert one.Comment == "second" and one.VideoTemplate.Bitrate == 1500
    assert one.VideoTemplate.Height == 720  # untouched fields keep their value

    req = models.DeleteTranscodeTemplateRequest()
    req.Definition = d1
    vod.DeleteTranscodeTemplate(req)
    assert code_of(vod.DeleteTranscodeTemplate, req) == "ResourceNotFound.TemplateNotExist"
    req = models.DescribeTranscodeTemplatesRequest()
    req.Definitions = [d1]
    assert vod.DescribeTranscodeTemplates(req).TotalCount == 0


def test_describe_filters_and_paging(server: ServerProcess) -> None:
    vod = server.vod()
    audio_only = transcode_req(Container="mp3", AudioTemplate=audio(Codec="mp3"))
    audio_only.VideoTemplate = None
    d = vod.CreateTranscodeTemplate(audio_only).Definition
    req = models.DescribeTranscodeTemplatesRequest()
    req.ContainerType = "PureAudio"
    req.Type = "Custom"
    got = vod.DescribeTranscodeTemplates(req)
    assert str(d) in {t.Definition for t in got.TranscodeTemplateSet}
    assert all(t.ContainerType == "PureAudio" for t in got.TranscodeTemplateSet)
    assert got.TranscodeTemplateSet[0].RemoveVideo == 1

    req = models.DescribeTranscodeTemplatesRequest()
    req.Type = "Preset"
    req.Offset, req.Limit = 0, 5
    page1 = vod.DescribeTranscodeTemplates(req)
    req.Offset = 5
    page2 = vod.DescribeTranscodeTemplates(req)
    assert len(page1.TranscodeTemplateSet) == 5 and page1.TotalCount == page2.TotalCount == 39
    assert not {t.Definition for t in page1.TranscodeTemplateSet} & {
        t.Definition for t in page2.TranscodeTemplateSet
    }
    req = models.DescribeTranscodeTemplatesRequest()
    req.TEHDType = "TEHD"
    assert server.vod().DescribeTranscodeTemplates(req).TotalCount == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Container": "avi"}, "InvalidParameterValue.Container"),
        ({"VideoTemplate": {"Codec": "vp9", "Fps": 25, "Bitrate": 800}}, "Codec"),
        ({"VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 100}}, "Bitrate"),
        ({"VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 100001}}, "Bitrate"),
        ({"VideoTemplate": {"Codec": "libx264", "Fps": 101, "Bitrate": 800}}, "Fps"),
        ({"VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 0, "Width": 100}}, "Width"),
        (
            {"VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 0, "Height": 9000}},
            "Height",
        ),
        (
            {"VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 0, "FillType": "zoom"}},
            "FillType",
        ),
        (
            {
                "VideoTemplate": {
                    "Codec": "libx264",
                    "Fps": 25,
                    "Bitrate": 0,
                    "ResolutionAdaptive": "maybe",
                }
            },
            "ResolutionAdaptive",
        ),
        ({"AudioTemplate": {"Codec": "opus", "Bitrate": 64, "SampleRate": 44100}}, "Codec"),
        ({"AudioTemplate": {"Codec": "aac", "Bitrate": 500, "SampleRate": 44100}}, "Bitrate"),
        ({"AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 22050}}, "SampleRate"),
        (
            {
                "AudioTemplate": {
                    "Codec": "aac",
                    "Bitrate": 64,
                    "SampleRate": 44100,
                    "AudioChannel": 3,
                }
            },
            "AudioChannel",
        ),
        ({"RemoveVideo": 2}, "RemoveVideo"),
        ({"RemoveVideo": 1, "RemoveAudio": 1}, "RemoveAudio"),
    ],
)
def test_transcode_out_of_range(server: ServerProcess, change: dict, code: str) -> None:  # type: ignore[type-arg]
    params = {
        "Container": "mp4",
        "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 800},
        "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
        **change,
    }
    got = raw_code(server, "CreateTranscodeTemplate", params)
    assert got == code if "." in code else got == f"InvalidParameterValue.{code}"


def test_transcode_wrong_types_missing_and_oversize(server: ServerProcess) -> None:
    base = {
        "Container": "mp4",
        "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 800},
        "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
    }
    assert raw_code(server, "CreateTranscodeTemplate", {**base, "Container": 4}) == (
        "InvalidParameter"
    )
    bad_video = {**base, "VideoTemplate": {"Codec": "libx264", "Fps": "fast", "Bitrate": 800}}
    assert raw_code(server, "CreateTranscodeTemplate", bad_video) == "InvalidParameter"
    assert raw_code(server, "CreateTranscodeTemplate", {**base, "RemoveAudio": True}) == (
        "InvalidParameter"
    )
    no_container = {k: v for k, v in base.items() if k != "Container"}
    assert raw_code(server, "CreateTranscodeTemplate", no_container) == "MissingParameter"
    no_codec = {**base, "VideoTemplate": {"Fps": 25, "Bitrate": 800}}
    assert raw_code(server, "CreateTranscodeTemplate", no_codec) == "MissingParameter"
    no_video = {k: v for k, v in base.items() if k != "VideoTemplate"}
    assert raw_code(server, "CreateTranscodeTemplate", no_video) == "MissingParameter"
    assert raw_code(server, "CreateTranscodeTemplate", {**base, "Name": "n" * 65}) == (
        "InvalidParameterValue.Name"
    )
    assert raw_code(server, "CreateTranscodeTemplate", {**base, "Comment": "c" * 257}) == (
        "InvalidParameterValue.Comment"
    )
    assert raw_code(server, "DescribeTranscodeTemplates", {"Limit": 101}) == (
        "InvalidParameterValue.Limit"
    )
    assert raw_code(server, "DescribeTranscodeTemplates", {"Definitions": list(range(101))}) == (
        "InvalidParameterValue.Definitions"
    )
    assert raw_code(server, "DescribeTranscodeTemplates", {"Type": "Both"}) == (
        "InvalidParameterValue.Type"
    )
    assert raw_code(server, "DeleteTranscodeTemplate", {}) == "MissingParameter"
    assert raw_code(server, "DeleteTranscodeTemplate", {"Definition": "x"}) == "InvalidParameter"
    assert raw_code(server, "ModifyTranscodeTemplate", {"Definition": 999999999}) == (
        "ResourceNotFound.TemplateNotExist"
    )


def test_modify_keeps_rules(server: ServerProcess) -> None:
    vod = server.vod()
    d = vod.CreateTranscodeTemplate(transcode_req()).Definition
    assert raw_code(
        server, "ModifyTranscodeTemplate", {"Definition": d, "VideoTemplate": {"Fps": 500}}
    ) == ("InvalidParameterValue.Fps")
    assert raw_code(server, "ModifyTranscodeTemplate", {"Definition": d, "Container": "ogg"}) == (
        "InvalidParameterValue.Codec"
    )  # aac does not go into ogg
    req = models.DescribeTranscodeTemplatesRequest()
    req.Definitions = [d]
    (t,) = vod.DescribeTranscodeTemplates(req).TranscodeTemplateSet
    assert t.VideoTemplate.Fps == 24 and t.Container == "mp4"  # the refused changes left no trace


# ----- image templates -----


def test_snapshot_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateSnapshotByTimeOffsetTemplateRequest()
    req.Name, req.Width, req.Height, req.Format = "thumb", 320, 0, "png"
    d = vod.CreateSnapshotByTimeOffsetTemplate(req).Definition
    mod = models.ModifySnapshotByTimeOffsetTemplateRequest()
    mod.Definition, mod.FillType = d, "white"
    vod.ModifySnapshotByTimeOffsetTemplate(mod)
    desc = models.DescribeSnapshotByTimeOffsetTemplatesRequest()
    desc.Definitions, desc.Type = [d], "Custom"
    (t,) = vod.DescribeSnapshotByTimeOffsetTemplates(desc).SnapshotByTimeOffsetTemplateSet
    assert (t.Width, t.Height, t.Format, t.FillType, t.ResolutionAdaptive) == (
        320,
        0,
        "png",
        "white",
        "open",
    )
    assert raw_code(server, "CreateSnapshotByTimeOffsetTemplate", {"Format": "bmp"}) == (
        "InvalidParameterValue.Format"
    )
    assert raw_code(server, "CreateSnapshotByTimeOffsetTemplate", {"Width": 5000}) == (
        "InvalidParameterValue.Width"
    )
    assert raw_code(server, "CreateSnapshotByTimeOffsetTemplate", {"Width": "wide"}) == (
        "InvalidParameter"
    )
    dele = models.DeleteSnapshotByTimeOffsetTemplateRequest()
    dele.Definition = d
    vod.DeleteSnapshotByTimeOffsetTemplate(dele)
    assert code_of(vod.DeleteSnapshotByTimeOffsetTemplate, dele) == (
        "ResourceNotFound.TemplateNotExist"
    )


def test_sample_snapshot_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateSampleSnapshotTemplateRequest()
    req.SampleType, req.SampleInterval, req.Width = "Time", 5, 256
    d = vod.CreateSampleSnapshotTemplate(req).Definition
    mod = models.ModifySampleSnapshotTemplateRequest()
    mod.Definition, mod.SampleType, mod.SampleInterval = d, "Percent", 20
    vod.ModifySampleSnapshotTemplate(mod)
    desc = models.DescribeSampleSnapshotTemplatesRequest()
    desc.Definitions = [d]
    (t,) = vod.DescribeSampleSnapshotTemplates(desc).SampleSnapshotTemplateSet
    assert (t.SampleType, t.SampleInterval, t.Width, t.Format) == ("Percent", 20, 256, "jpg")
    assert raw_code(
        server, "CreateSampleSnapshotTemplate", {"SampleType": "Frames", "SampleInterval": 5}
    ) == ("InvalidParameterValue.SampleType")
    assert raw_code(
        server, "CreateSampleSnapshotTemplate", {"SampleType": "Percent", "SampleInterval": 101}
    ) == ("InvalidParameterValue.SampleInterval")
    assert raw_code(
        server, "CreateSampleSnapshotTemplate", {"SampleType": "Time", "SampleInterval": 0}
    ) == ("InvalidParameterValue.SampleInterval")
    assert raw_code(server, "CreateSampleSnapshotTemplate", {"SampleType": "Time"}) == (
        "MissingParameter"
    )
    dele = models.DeleteSampleSnapshotTemplateRequest()
    dele.Definition = d
    vod.DeleteSampleSnapshotTemplate(dele)


def test_image_sprite_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateImageSpriteTemplateRequest()
    req.SampleType, req.SampleInterval, req.RowCount, req.ColumnCount = "Time", 2, 3, 4
    req.Width, req.Height = 160, 0
    d = vod.CreateImageSpriteTemplate(req).Definition
    mod = models.ModifyImageSpriteTemplateRequest()
    mod.Definition, mod.RowCount = d, 5
    vod.ModifyImageSpriteTemplate(mod)
    desc = models.DescribeImageSpriteTemplatesRequest()
    desc.Definitions = [d]
    (t,) = vod.DescribeImageSpriteTemplates(desc).ImageSpriteTemplateSet
    assert (t.RowCount, t.ColumnCount, t.Width, t.SampleInterval) == (5, 4, 160, 2)
    base = {"SampleType": "Time", "SampleInterval": 2, "RowCount": 3, "ColumnCount": 4}
    assert raw_code(server, "CreateImageSpriteTemplate", {**base, "RowCount": 0}) == (
        "InvalidParameterValue.RowCount"
    )
    assert raw_code(
        server, "CreateImageSpriteTemplate", {**base, "ColumnCount": 100, "Width": 4000}
    ) == ("InvalidParameterValue.ColumnCount")
    assert raw_code(server, "CreateImageSpriteTemplate", {**base, "Format": "gif"}) == (
        "InvalidParameterValue.Format"
    )
    missing = {k: v for k, v in base.items() if k != "RowCount"}
    assert raw_code(server, "CreateImageSpriteTemplate", missing) == "MissingParameter"
    dele = models.DeleteImageSpriteTemplateRequest()
    dele.Definition = d
    vod.DeleteImageSpriteTemplate(dele)


def test_animated_graphics_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateAnimatedGraphicsTemplateRequest()
    req.Fps, req.Format, req.Width, req.Height, req.Quality = 12, "webp", 0, 240, 60.0
    d = vod.CreateAnimatedGraphicsTemplate(req).Definition
    mod = models.ModifyAnimatedGraphicsTemplateRequest()
    mod.Definition, mod.Format = d, "gif"
    vod.ModifyAnimatedGraphicsTemplate(mod)
    desc = models.DescribeAnimatedGraphicsTemplatesRequest()
    desc.Definitions = [d]
    (t,) = vod.DescribeAnimatedGraphicsTemplates(desc).AnimatedGraphicsTemplateSet
    assert (t.Fps, t.Format, t.Height, t.Quality, t.Type) == (12, "gif", 240, 60.0, "Custom")
    assert raw_code(server, "CreateAnimatedGraphicsTemplate", {"Fps": 31}) == (
        "InvalidParameterValue.Fps"
    )
    assert raw_code(server, "CreateAnimatedGraphicsTemplate", {"Fps": 0}) == (
        "InvalidParameterValue.Fps"
    )
    assert raw_code(server, "CreateAnimatedGraphicsTemplate", {"Fps": 10, "Format": "png"}) == (
        "InvalidParameterValue.Format"
    )
    assert raw_code(server, "CreateAnimatedGraphicsTemplate", {"Fps": 10, "Quality": 0}) == (
        "InvalidParameterValue.Quality"
    )
    assert raw_code(server, "CreateAnimatedGraphicsTemplate", {}) == "MissingParameter"
    dele = models.DeleteAnimatedGraphicsTemplateRequest()
    dele.Definition = d
    vod.DeleteAnimatedGraphicsTemplate(dele)


def test_adaptive_streaming_template_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateAdaptiveDynamicStreamingTemplateRequest()
    req.Format = "HLS"
    streams = []
    for height, kbps in ((360, 400), (720, 1500)):
        s = models.AdaptiveStreamTemplate()
        s.Video = video(Height=height, Bitrate=kbps)
        s.Audio = audio()
        streams.append(s)
    req.StreamInfos = streams
    req.Name = "abr"
    d = vod.CreateAdaptiveDynamicStreamingTemplate(req).Definition
    mod = models.ModifyAdaptiveDynamicStreamingTemplateRequest()
    mod.Definition, mod.DisableHigherVideoResolution = d, 1
    vod.ModifyAdaptiveDynamicStreamingTemplate(mod)
    desc = models.DescribeAdaptiveDynamicStreamingTemplatesRequest()
    desc.Definitions = [d]
    (t,) = vod.DescribeAdaptiveDynamicStreamingTemplates(desc).AdaptiveDynamicStreamingTemplateSet
    assert t.DisableHigherVideoResolution == 1 and t.Name == "abr"
    assert [s.Video.Height for s in t.StreamInfos] == [360, 720]
    stream = {
        "Video": {"Codec": "libx264", "Fps": 25, "Bitrate": 400},
        "Audio": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
    }
    assert raw_code(
        server,
        "CreateAdaptiveDynamicStreamingTemplate",
        {"Format": "MPEG-DASH", "StreamInfos": [stream]},
    ) == ("InvalidParameterValue.Format")
    assert raw_code(
        server, "CreateAdaptiveDynamicStreamingTemplate", {"Format": "HLS", "StreamInfos": []}
    ) == ("InvalidParameterValue.StreamInfos")
    assert raw_code(
        server,
        "CreateAdaptiveDynamicStreamingTemplate",
        {"Format": "HLS", "StreamInfos": [stream] * 11},
    ) == ("InvalidParameterValue")
    assert raw_code(
        server,
        "CreateAdaptiveDynamicStreamingTemplate",
        {"Format": "HLS", "StreamInfos": [stream], "DrmType": "Widevine"},
    ) == ("InvalidParameterValue.DrmType")
    assert raw_code(server, "CreateAdaptiveDynamicStreamingTemplate", {"Format": "HLS"}) == (
        "MissingParameter"
    )
    dele = models.DeleteAdaptiveDynamicStreamingTemplateRequest()
    dele.Definition = d
    vod.DeleteAdaptiveDynamicStreamingTemplate(dele)


# ----- isolation -----


def test_other_applications_cannot_see_or_use_custom_templates(server: ServerProcess) -> None:
    vod = server.vod()
    app = models.CreateSubAppIdRequest()
    app.Name = "tpl-isolation"
    other = vod.CreateSubAppId(app).SubAppId

    d = vod.CreateTranscodeTemplate(transcode_req()).Definition
    req = models.DescribeTranscodeTemplatesRequest()
    req.SubAppId, req.Definitions = other, [d]
    assert vod.DescribeTranscodeTemplates(req).TotalCount == 0
    mod = models.ModifyTranscodeTemplateRequest()
    mod.SubAppId, mod.Definition, mod.Name = other, d, "stolen"
    assert code_of(vod.ModifyTranscodeTemplate, mod) == "ResourceNotFound.TemplateNotExist"
    dele = models.DeleteTranscodeTemplateRequest()
    dele.SubAppId, dele.Definition = other, d
    assert code_of(vod.DeleteTranscodeTemplate, dele) == "ResourceNotFound.TemplateNotExist"
    proc = models.CreateProcedureTemplateRequest()
    proc.SubAppId, proc.Name = other, "uses-foreign"
    mpt = models.MediaProcessTaskInput()
    task = models.TranscodeTaskInput()
    task.Definition = d
    mpt.TranscodeTaskSet = [task]
    proc.MediaProcessTask = mpt
    assert code_of(vod.CreateProcedureTemplate, proc) == "InvalidParameterValue.Definition"
    # Presets are shared by every application.
    req.Definitions = [100010]
    assert vod.DescribeTranscodeTemplates(req).TotalCount == 1
    # The owner still has it.
    req.SubAppId, req.Definitions = None, [d]
    assert vod.DescribeTranscodeTemplates(req).TotalCount == 1
