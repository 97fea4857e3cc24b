"""Watermarks through the official SDK: templates, and WatermarkSet drawn on real outputs.

The source is plain black, so every watermark is found by its colour at the
position its template computes (PyAV decodes the outputs), and its absence
where it must not be: outside its box, and outside its time offsets.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import av
import httpx
import pytest
from tencentcloud.vod.v20180717 import models

from tests.assertions import call_code, code_of
from tests.flows_support import add_media, wait_task
from tests.mediagen import ffmpeg, make_huge_png_header
from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e

Pixel = Callable[[int, int], tuple[int, int, int]]
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    '<rect width="40" height="20" fill="#ffff00"/></svg>'
)


def solid_png(path: Path, color: str, size: str) -> str:
    """A one-colour PNG, as CreateWatermarkTemplate's Base64 ImageContent."""
    ffmpeg("-f", "lavfi", "-i", f"color=c={color}:s={size}", "-frames:v", "1", str(path))
    return base64.b64encode(path.read_bytes()).decode()


def pixels(frame: Any) -> Pixel:
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    data, stride = bytes(plane), plane.line_size

    def at(x: int, y: int) -> tuple[int, int, int]:
        i = y * stride + 3 * x
        return data[i], data[i + 1], data[i + 2]

    return at


def frames_at(path: Path, times: list[float]) -> dict[float, tuple[Pixel, int, int]]:
    """The picture shown at each time (the first frame starting at or after it)."""
    out: dict[float, tuple[Pixel, int, int]] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            for want in times:
                if want not in out and t >= want - 1e-3:
                    out[want] = (pixels(frame), frame.width, frame.height)
    assert set(out) == set(times)
    return out


def image(path: Path) -> tuple[Pixel, int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return pixels(frame), frame.width, frame.height


def is_color(px: tuple[int, int, int], name: str) -> bool:
    r, g, b = px
    hi, lo = 170, 90
    return {
        "red": r > hi and g < lo and b < lo,
        "green": g > hi and r < lo and b < lo,
        "yellow": r > hi and g > hi and b < lo,
        "black": max(px) < 40,
    }[name]


def blob(server: ServerProcess, url: str) -> Path:
    key = unquote(urlparse(url).path.removeprefix("/vod/"))
    return server.settings().resolved_blob_dir / key


@pytest.fixture(scope="module")
def black_clip(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("wm") / "black.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=4",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return add_media(server, path, name="black")


@pytest.fixture(scope="module")
def marks(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Four templates: a red 40x20 px image, a green % image, blue text, a yellow SVG."""
    tmp = tmp_path_factory.mktemp("wm-images")
    vod = server.vod()
    out: dict[str, Any] = {"red_png": solid_png(tmp / "red.png", "red", "40x20")}

    red = models.CreateWatermarkTemplateRequest()
    red.Type, red.Name, red.XPos, red.YPos = "image", "red", "20px", "10px"
    red.ImageTemplate = models.ImageWatermarkInput()
    red.ImageTemplate.ImageContent = out["red_png"]
    red.ImageTemplate.Width = "40px"
    created = vod.CreateWatermarkTemplate(red)
    out["red"], out["red_url"] = created.Definition, created.ImageUrl

    green = models.CreateWatermarkTemplateRequest()
    green.Type, green.CoordinateOrigin, green.XPos, green.YPos = "image", "BottomRight", "10%", "0%"
    green.ImageTemplate = models.ImageWatermarkInput()
    green.ImageTemplate.ImageContent = solid_png(tmp / "green.png", "lime", "64x64")
    green.ImageTemplate.Width, green.ImageTemplate.Height = "25%", "10%"
    out["green"] = vod.CreateWatermarkTemplate(green).Definition

    text = models.CreateWatermarkTemplateRequest()
    text.Type, text.CoordinateOrigin = "text", "TopRight"
    text.TextTemplate = models.TextWatermarkTemplateInput()
    text.TextTemplate.FontType, text.TextTemplate.FontSize = "arial.ttf", "48px"
    text.TextTemplate.FontColor = "0xFF0000"
    out["text"] = vod.CreateWatermarkTemplate(text).Definition

    svg = models.CreateWatermarkTemplateRequest()
    svg.Type, svg.CoordinateOrigin = "svg", "BottomLeft"
    svg.SvgTemplate = models.SvgWatermarkInput()
    svg.SvgTemplate.Width = "10W%"
    out["svg"] = vod.CreateWatermarkTemplate(svg).Definition
    return out


def mark(definition: int, **kw: Any) -> models.WatermarkInput:
    m = models.WatermarkInput()
    m.Definition = definition
    for k, v in kw.items():
        setattr(m, k, v)
    return m


@pytest.fixture(scope="module")
def source_size_template(server: ServerProcess) -> int:
    """An MP4 template keeping the source's 320x240."""
    req = models.CreateTranscodeTemplateRequest()
    req.Container, req.Name = "mp4", "wm-source-size"
    req.VideoTemplate = models.VideoTemplateInfo()
    req.VideoTemplate.Codec, req.VideoTemplate.Fps, req.VideoTemplate.Bitrate = "libx264", 25, 800
    req.AudioTemplate = models.AudioTemplateInfo()
    req.AudioTemplate.Codec, req.AudioTemplate.Bitrate = "libfdk_aac", 64
    req.AudioTemplate.SampleRate = 44100
    return int(server.vod().CreateTranscodeTemplate(req).Definition)


@pytest.fixture(scope="module")
def three_sizes(server: ServerProcess) -> int:
    """An adaptive template of three renditions: 320x240, 240x180, 192x144 (no upscaling)."""
    req = models.CreateAdaptiveDynamicStreamingTemplateRequest()
    req.Format, req.Name, req.StreamInfos = "HLS", "wm-three", []
    for height in (240, 180, 144):
        stream = models.AdaptiveStreamTemplate()
        stream.Video = models.VideoTemplateInfo()
        stream.Video.Codec, stream.Video.Fps, stream.Video.Bitrate = "libx264", 25, 300
        stream.Video.Height = height
        stream.RemoveAudio = 1
        req.StreamInfos.append(stream)
    return int(server.vod().CreateAdaptiveDynamicStreamingTemplate(req).Definition)


@pytest.fixture(scope="module")
def flow(
    server: ServerProcess,
    black_clip: str,
    marks: dict[str, Any],
    source_size_template: int,
    three_sizes: int,
) -> dict[str, Any]:
    """One ProcessMedia: transcode with all four, ADS, snapshots, samples and a cover."""
    mpt = models.MediaProcessTaskInput()
    tr = models.TranscodeTaskInput()
    tr.Definition = source_size_template
    tr.WatermarkSet = [
        mark(marks["red"], StartTimeOffset=1.0, EndTimeOffset=2.0),
        mark(marks["green"]),
        mark(marks["text"], TextContent="WW"),
        mark(marks["svg"], SvgContent=SVG, StartTimeOffset=-2.0),  # the last 2 s
    ]
    mpt.TranscodeTaskSet = [tr]
    ads = models.AdaptiveDynamicStreamingTaskInput()
    ads.Definition, ads.WatermarkSet = three_sizes, [mark(marks["green"])]
    mpt.AdaptiveDynamicStreamingTaskSet = [ads]
    snap = models.SnapshotByTimeOffsetTaskInput()
    snap.Definition, snap.TimeOffsetSet = 10, [500, 1500]
    snap.WatermarkSet = [mark(marks["red"], StartTimeOffset=1.0, EndTimeOffset=2.0)]
    mpt.SnapshotByTimeOffsetTaskSet = [snap]
    sample = models.SampleSnapshotTaskInput()
    sample.Definition, sample.WatermarkSet = 10, [mark(marks["green"])]
    mpt.SampleSnapshotTaskSet = [sample]
    cover = models.CoverBySnapshotTaskInput()
    cover.Definition, cover.PositionType, cover.PositionValue = 10, "Time", 1
    cover.WatermarkSet = [mark(marks["red"])]
    mpt.CoverBySnapshotTaskSet = [cover]
    req = models.ProcessMediaRequest()
    req.FileId, req.MediaProcessTask = black_clip, mpt
    task_id = server.vod().ProcessMedia(req).TaskId
    detail = wait_task(server, task_id, timeout=600)
    results = detail["ProcedureTask"]["MediaProcessResultSet"]
    for r in results:
        sub = r[{"Transcode": "TranscodeTask", "AdaptiveDynamicStreaming":
                 "AdaptiveDynamicStreamingTask", "SnapshotByTimeOffset":
                 "SnapshotByTimeOffsetTask", "SampleSnapshot": "SampleSnapshotTask",
                 "CoverBySnapshot": "CoverBySnapshotTask"}[r["Type"]]]  # fmt: skip
        assert sub["Status"] == "SUCCESS", (r["Type"], sub["Message"])
    return {r["Type"]: r for r in results}


@pytest.mark.slow
def test_transcode_draws_each_watermark_where_and_when_its_template_says(
    server: ServerProcess, flow: dict[str, Any]
) -> None:
    out = blob(server, flow["Transcode"]["TranscodeTask"]["Output"]["Url"])
    shots = frames_at(out, [0.5, 1.5, 2.5, 3.5])
    for t, (px, w, h) in shots.items():
        assert (w, h) == (320, 240)
        # Red: 40x20 px at (20, 10) from the top left, only between 1 s and 2 s.
        assert is_color(px(40, 20), "red") == (t == 1.5), t
        assert is_color(px(70, 20), "black") and is_color(px(40, 40), "black"), t
        # Green: 25% x 10% of the frame (80x24), 10% (32 px) from the right, on the bottom.
        assert is_color(px(320 - 32 - 40, 240 - 12), "green"), t
        assert is_color(px(320 - 32 + 8, 240 - 12), "black"), t
        assert is_color(px(320 - 32 - 40, 240 - 24 - 8), "black"), t
        # The middle stays the source's.
        assert is_color(px(160, 120), "black"), t
        # SVG: 10% of the width (32x16), bottom left, only in the last 2 s.
        assert is_color(px(16, 240 - 8), "yellow") == (t > 2), t
        assert is_color(px(48, 240 - 8), "black"), t
        # Text: red glyphs drawn in the top right corner (48 px "WW").
        reds = sum(is_color(px(x, y), "red") for x in range(160, 320, 2) for y in range(0, 60, 2))
        assert reds > 40, (t, reds)
        far = sum(is_color(px(x, y), "red") for x in range(80, 320, 2) for y in range(90, 200, 2))
        assert far == 0, t


@pytest.mark.slow
def test_snapshots_samples_and_cover_carry_image_watermarks(
    server: ServerProcess, flow: dict[str, Any], marks: dict[str, Any]
) -> None:
    pics = flow["SnapshotByTimeOffset"]["SnapshotByTimeOffsetTask"]["Output"]["PicInfoSet"]
    assert [p["WaterMarkDefinition"] for p in pics] == [[], [marks["red"]]]
    for pic, shown in zip(pics, (False, True), strict=True):
        px, w, h = image(blob(server, pic["Url"]))
        assert (w, h) == (320, 240)
        assert is_color(px(40, 20), "red") == shown
        assert is_color(px(160, 120), "black")
    sample = flow["SampleSnapshot"]["SampleSnapshotTask"]["Output"]
    assert sample["WaterMarkDefinition"] == [marks["green"]]
    assert len(sample["ImageUrlSet"]) == 10
    for url in sample["ImageUrlSet"]:
        px, _w, _h = image(blob(server, url))
        assert is_color(px(320 - 32 - 40, 240 - 12), "green")
        assert is_color(px(160, 120), "black")
    cover = flow["CoverBySnapshot"]["CoverBySnapshotTask"]["Output"]["CoverUrl"]
    px, _w, _h = image(blob(server, cover))
    assert is_color(px(40, 20), "red") and is_color(px(160, 120), "black")


@pytest.mark.slow
def test_every_adaptive_rendition_carries_the_watermark_at_its_own_size(
    server: ServerProcess, flow: dict[str, Any]
) -> None:
    master = blob(server, flow["AdaptiveDynamicStreaming"]["AdaptiveDynamicStreamingTask"]
                  ["Output"]["Url"])  # fmt: skip
    variants = [
        master.parent / line
        for line in master.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    sizes = set()
    for playlist in variants:
        first = next(line for line in playlist.read_text().splitlines() if line and line[0] != "#")
        px, w, h = image(playlist.parent / first)
        sizes.add((w, h))
        box_w, box_h, right = round(w * 0.25), round(h * 0.10), round(w * 0.10)
        assert is_color(px(w - right - box_w // 2, h - box_h // 2), "green"), (w, h)
        assert is_color(px(w - right + 4, h - box_h // 2), "black"), (w, h)
        assert is_color(px(w // 2, h // 2), "black"), (w, h)
    assert sizes == {(320, 240), (240, 180), (192, 144)}  # each with its own fit


def test_templates_are_created_described_modified_and_deleted(
    server: ServerProcess, marks: dict[str, Any]
) -> None:
    vod = server.vod()
    req = models.DescribeWatermarkTemplatesRequest()
    req.Definitions = [marks["red"], marks["text"], marks["svg"]]
    got = {t.Definition: t for t in vod.DescribeWatermarkTemplates(req).WatermarkTemplateSet}
    red, text, svg = got[marks["red"]], got[marks["text"]], got[marks["svg"]]
    assert (red.Type, red.XPos, red.YPos, red.CoordinateOrigin) == ("image", "20px", "10px",
                                                                  "TopLeft")  # fmt: skip
    assert red.ImageTemplate.Width == "40px" and red.ImageTemplate.Height == "0px"
    assert red.ImageTemplate.RepeatType == "repeat" and red.ImageTemplate.Transparency == 0
    assert red.ImageTemplate.ImageUrl == marks["red_url"]
    assert red.TextTemplate is None and red.SvgTemplate is None
    assert text.TextTemplate.FontType == "arial.ttf" and text.TextTemplate.FontAlpha == 1
    assert (svg.SvgTemplate.Width, svg.SvgTemplate.Height) == ("10W%", "0px")
    # The image is served at its ImageUrl, byte for byte.
    served = httpx.get(marks["red_url"], timeout=30)
    assert served.status_code == 200
    assert served.content == base64.b64decode(marks["red_png"])

    # Type filter.
    req = models.DescribeWatermarkTemplatesRequest()
    req.Type, req.Limit = "text", 100
    texts = vod.DescribeWatermarkTemplates(req)
    assert texts.TotalCount >= 1 and {t.Type for t in texts.WatermarkTemplateSet} == {"text"}

    # Modify: merged, then Create's rules; Delete: gone, and its image no longer served.
    create = models.CreateWatermarkTemplateRequest()
    create.Type = "image"
    create.ImageTemplate = models.ImageWatermarkInput()
    create.ImageTemplate.ImageContent = marks["red_png"]
    created = vod.CreateWatermarkTemplate(create)
    modify = models.ModifyWatermarkTemplateRequest()
    modify.Definition, modify.XPos, modify.Name = created.Definition, "5%", "moved"
    modify.ImageTemplate = models.ImageWatermarkInputForUpdate()
    modify.ImageTemplate.Transparency = 50
    vod.ModifyWatermarkTemplate(modify)
    req = models.DescribeWatermarkTemplatesRequest()
    req.Definitions = [created.Definition]
    (item,) = vod.DescribeWatermarkTemplates(req).WatermarkTemplateSet
    assert (item.Name, item.XPos, item.ImageTemplate.Transparency) == ("moved", "5%", 50)
    assert item.ImageTemplate.Width == "10%"  # Tencent's default width
    modify = models.ModifyWatermarkTemplateRequest()
    modify.Definition = created.Definition
    modify.TextTemplate = models.TextWatermarkTemplateInputForUpdate()
    modify.TextTemplate.FontSize = "10px"
    assert code_of(vod.ModifyWatermarkTemplate, modify) == "InvalidParameterValue.TextTemplate"
    delete = models.DeleteWatermarkTemplateRequest()
    delete.Definition = created.Definition
    vod.DeleteWatermarkTemplate(delete)
    assert vod.DescribeWatermarkTemplates(req).TotalCount == 0
    assert httpx.get(created.ImageUrl, timeout=30).status_code == 404
    assert code_of(vod.DeleteWatermarkTemplate, delete) == "ResourceNotFound.TemplateNotExist"


def _image(**kw: Any) -> dict[str, Any]:
    return {"Type": "image", "ImageTemplate": kw}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Type": "video"}, "InvalidParameterValue.Type"),
        ({"Type": "image"}, "InvalidParameterValue.ImageTemplate"),
        ({"Type": "text"}, "InvalidParameterValue.TextTemplate"),
        ({"Type": "svg"}, "InvalidParameterValue.SvgTemplate"),
        (_image(ImageContent="not base64!"), "InvalidParameterValue.ImageDecodeError"),
        (_image(ImageContent=base64.b64encode(b"plain text").decode()),
         "InvalidParameterValue.ImageContent"),
        (_image(ImageContent=base64.b64encode(b"\x89PNG\r\n\x1a\n" + os.urandom(300)).decode()),
         "InvalidParameterValue.ImageContent"),
        (_image(ImageContent=base64.b64encode(b"\xff" * (3 * 1024 * 1024)).decode()),
         "InvalidParameterValue.ImageContent"),
        ({**_image(ImageContent="RED"), "CoordinateOrigin": "Center"},
         "InvalidParameterValue.CoordinateOrigin"),
        ({**_image(ImageContent="RED"), "XPos": "10"}, "InvalidParameterValue.XPos"),
        ({**_image(ImageContent="RED"), "YPos": "150%"}, "InvalidParameterValue.YPos"),
        (_image(ImageContent="RED", Width="4px"), "InvalidParameterValue.Width"),
        (_image(ImageContent="RED", Height="5000px"), "InvalidParameterValue.Height"),
        (_image(ImageContent="RED", RepeatType="twice"), "InvalidParameterValue.RepeatType"),
        (_image(ImageContent="RED", Transparency=101), "InvalidParameterValue.ImageTemplate"),
        ({"Type": "text", "TextTemplate": {"FontType": "comic.ttf", "FontSize": "10px"}},
         "InvalidParameterValue.TextTemplate"),
        ({"Type": "text", "TextTemplate": {"FontType": "arial.ttf", "FontSize": "10pt"}},
         "InvalidParameterValue.TextTemplate"),
        ({"Type": "text", "TextTemplate": {"FontType": "arial.ttf", "FontSize": "10px",
                                           "FontAlpha": 0}}, "InvalidParameterValue.TextAlpha"),
        ({"Type": "svg", "SvgTemplate": {"Width": "10Q%"}},
         "InvalidParameterValue.SvgTemplateWidth"),
        ({"Type": "svg", "SvgTemplate": {"Height": "px"}},
         "InvalidParameterValue.SvgTemplateHeight"),
        ({"Type": "svg", "SvgTemplate": {}, "TextTemplate": {"FontType": "arial.ttf",
                                                            "FontSize": "10px"}},
         "InvalidParameterValue.TextTemplate"),
    ],
)  # fmt: skip
def test_bad_templates_answer_tencent_s_codes(
    server: ServerProcess, marks: dict[str, Any], params: dict[str, Any], code: str
) -> None:
    image = params.get("ImageTemplate")
    if isinstance(image, dict) and image.get("ImageContent") == "RED":
        params = {**params, "ImageTemplate": {**image, "ImageContent": marks["red_png"]}}
    assert call_code(server, "CreateWatermarkTemplate", params) == code


def test_an_image_claiming_a_huge_size_is_refused_from_its_header(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = make_huge_png_header(tmp_path / "huge.png", width=5000, height=5000).read_bytes()
    params = _image(ImageContent=base64.b64encode(data).decode())
    assert call_code(server, "CreateWatermarkTemplate", params) == (
        "InvalidParameterValue.ImageContent"
    )


def test_a_wrong_json_type_is_refused(server: ServerProcess, marks: dict[str, Any]) -> None:
    params = {**_image(ImageContent=marks["red_png"]), "XPos": 10}
    assert call_code(server, "CreateWatermarkTemplate", params).startswith("InvalidParameter")


@pytest.mark.parametrize(
    ("task_set", "item", "code"),
    [
        ("TranscodeTaskSet", {"WatermarkSet": [{"Definition": 999999999}]},
         "InvalidParameterValue.Watermarks"),
        ("TranscodeTaskSet", {"WatermarkSet": [{"Definition": "TEXT"}]},
         "InvalidParameterValue.Watermarks"),
        ("TranscodeTaskSet", {"WatermarkSet": [{"Definition": "SVG"}]},
         "InvalidParameterValue.SvgTemplate"),
        ("TranscodeTaskSet", {"WatermarkSet": [{"Definition": "SVG", "SvgContent": "hello"}]},
         "InvalidParameterValue.SvgTemplate"),
        ("TranscodeTaskSet", {"WatermarkSet": [{"Definition": "RED", "TextContent": "x"}]},
         "InvalidParameterValue.Watermarks"),
        ("SnapshotByTimeOffsetTaskSet",
         {"TimeOffsetSet": [0], "WatermarkSet": [{"Definition": "TEXT", "TextContent": "x"}]},
         "InvalidParameterValue.Watermarks"),
        ("SampleSnapshotTaskSet", {"WatermarkSet": [{"Definition": "SVG", "SvgContent": SVG}]},
         "InvalidParameterValue.Watermarks"),
    ],
)  # fmt: skip
def test_bad_watermark_sets_answer_tencent_s_codes(
    server: ServerProcess,
    black_clip: str,
    marks: dict[str, Any],
    task_set: str,
    item: dict[str, Any],
    code: str,
) -> None:
    names = {"TEXT": marks["text"], "SVG": marks["svg"], "RED": marks["red"]}
    for m in item["WatermarkSet"]:
        m["Definition"] = names.get(m["Definition"], m["Definition"])
    definition = 100010 if task_set == "TranscodeTaskSet" else 10
    mpt = {task_set: [{"Definition": definition, **item}]}
    assert call_code(server, "ProcessMedia", {"FileId": black_clip, "MediaProcessTask": mpt}) == (
        code
    )
    # Procedures are checked the same way when they are created.
    assert (
        call_code(server, "CreateProcedureTemplate", {"Name": "wm-bad", "MediaProcessTask": mpt})
        == code
    )


@pytest.mark.slow
def test_a_procedure_carries_its_watermark_set(
    server: ServerProcess, black_clip: str, marks: dict[str, Any], source_size_template: int
) -> None:
    mpt = {
        "TranscodeTaskSet": [
            {"Definition": source_size_template, "WatermarkSet": [{"Definition": marks["red"]}]}
        ]
    }
    server.call("CreateProcedureTemplate", {"Name": "wm-proc", "MediaProcessTask": mpt})
    task_id = server.call(
        "ProcessMediaByProcedure", {"FileId": black_clip, "ProcedureName": "wm-proc"}
    )["TaskId"]
    detail = wait_task(server, task_id, timeout=600)
    (result,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS", result["TranscodeTask"]["Message"]
    out = blob(server, result["TranscodeTask"]["Output"]["Url"])
    (px, _w, _h) = frames_at(out, [0.2])[0.2]
    assert is_color(px(40, 20), "red") and is_color(px(160, 120), "black")
