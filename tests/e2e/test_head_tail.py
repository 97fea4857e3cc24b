"""Head/tail templates through the official SDK, and HeadTailSet joined by a real transcode.

The joined output is read back with PyAV: which source every frame came from (by its
colour), how long each part lasts, the padding colour of each template's FillType,
and the sound level of each part (silence where a part had none).
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from tencentcloud.vod.v20180717 import models

from tests.assertions import call_code, code_of
from tests.flows_support import add_media, wait_task
from tests.framecode import frame_number
from tests.mediagen import ffmpeg, make_counter_video, make_png
from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e

FPS = 25  # the transcode template's frame rate
GREEN, BLUE, YELLOW = (0, 255, 0), (0, 0, 255), (255, 255, 0)


def _colour_clip(
    path: Path, colour: str, width: int, height: int, fps: int, seconds: float, tone: str = ""
) -> Path:
    """A plain-coloured clip; with `tone`, a sine of that lavfi spec (mono 44.1 kHz)."""
    args = ["-f", "lavfi", "-i", f"color=c={colour}:s={width}x{height}:r={fps}:d={seconds}"]
    if tone:
        args += ["-f", "lavfi", "-i", f"sine={tone}:sample_rate=44100:duration={seconds}"]
    args += ["-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if tone:
        args += ["-map", "1:a", "-c:a", "aac", "-ac", "1"]
    ffmpeg(*args, str(path))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("head-tail")
    return {
        # The main media: 480x360 (4:3), 25 fps counter frames, a 440 Hz tone.
        "main": make_counter_video(
            root / "main.mp4", duration=2.0, width=480, height=360, audio=True
        ),
        # Head candidates: a portrait one listed first, and the square one that is
        # closer to 4:3 (the one Tencent's rule picks). 15 fps, no sound.
        "portrait": _colour_clip(root / "portrait.mp4", "yellow", 120, 240, 15, 1.0),
        "square": _colour_clip(root / "square.mp4", "lime", 160, 160, 15, 1.0),
        # The tail: 2:1, 30 fps, a mono 44.1 kHz tone.
        "tail": _colour_clip(root / "tail.mp4", "blue", 320, 160, 30, 1.0, tone="frequency=1000"),
    }


@pytest.fixture(scope="module")
def ids(server: ServerProcess, clips: dict[str, Path]) -> dict[str, str]:
    return {name: add_media(server, path, name) for name, path in clips.items()}


def _create(server: ServerProcess, **fields: Any) -> int:
    req = models.CreateHeadTailTemplateRequest()
    req.from_json_string(json.dumps({"Name": "ht", **fields}))
    return int(server.vod().CreateHeadTailTemplate(req).Definition)


def _describe(server: ServerProcess, definition: int) -> models.HeadTailTemplate:
    req = models.DescribeHeadTailTemplatesRequest()
    req.Definitions = [definition]
    resp = server.vod().DescribeHeadTailTemplates(req)
    assert resp.TotalCount == 1
    return resp.HeadTailTemplateSet[0]


# ----- the templates -----


def test_template_crud(server: ServerProcess, ids: dict[str, str]) -> None:
    vod = server.vod()
    definition = _create(
        server,
        Comment="opening",
        HeadCandidateSet=[ids["portrait"], ids["square"]],
        TailCandidateSet=[ids["tail"]],
    )
    got = _describe(server, definition)
    assert got.Name == "ht" and got.Comment == "opening"
    assert got.HeadCandidateSet == [ids["portrait"], ids["square"]]
    assert got.TailCandidateSet == [ids["tail"]]
    assert got.FillType == "stretch"  # Tencent's default
    assert got.CreateTime and got.UpdateTime
    raw = server.call("DescribeHeadTailTemplates", {"Definitions": [definition]})
    item = raw["HeadTailTemplateSet"][0]
    assert set(item) == {
        "Definition",
        "Name",
        "Comment",
        "HeadCandidateSet",
        "TailCandidateSet",
        "FillType",
        "CreateTime",
        "UpdateTime",
    }, "exactly the SDK's HeadTailTemplate fields (it has no Type)"

    mod = models.ModifyHeadTailTemplateRequest()
    mod.from_json_string(
        json.dumps({"Definition": definition, "TailCandidateSet": [], "FillType": "gauss"})
    )
    vod.ModifyHeadTailTemplate(mod)
    got = _describe(server, definition)
    assert got.TailCandidateSet == [] and got.FillType == "gauss"
    assert got.HeadCandidateSet == [ids["portrait"], ids["square"]] and got.Name == "ht"

    listing = vod.DescribeHeadTailTemplates(models.DescribeHeadTailTemplatesRequest())
    assert definition in [t.Definition for t in listing.HeadTailTemplateSet]

    delete = models.DeleteHeadTailTemplateRequest()
    delete.Definition = definition
    vod.DeleteHeadTailTemplate(delete)
    gone = models.DescribeHeadTailTemplatesRequest()
    gone.Definitions = [definition]
    assert vod.DescribeHeadTailTemplates(gone).TotalCount == 0
    assert code_of(vod.DeleteHeadTailTemplate, delete) == "ResourceNotFound.TemplateNotExist"
    assert code_of(vod.ModifyHeadTailTemplate, mod) == "ResourceNotFound.TemplateNotExist"


def test_templates_belong_to_their_application(server: ServerProcess, ids: dict[str, str]) -> None:
    definition = _create(server, HeadCandidateSet=[ids["square"]])
    other = int(server.call("CreateSubAppId", {"Name": "ht-other"})["SubAppId"])
    seen = server.call("DescribeHeadTailTemplates", {"SubAppId": other})
    assert definition not in [t["Definition"] for t in seen["HeadTailTemplateSet"]]
    # ... and another application's media is no candidate of this one's templates.
    code = call_code(
        server,
        "CreateHeadTailTemplate",
        {"SubAppId": other, "Name": "x", "HeadCandidateSet": [ids["square"]]},
    )
    assert code == "InvalidParameterValue.FileId"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"HeadCandidateSet": ["5285890000000000000"]}, "InvalidParameterValue.FileId"),
        ({"TailCandidateSet": ["nope"]}, "InvalidParameterValue.FileId"),
        ({"FillType": "blur"}, "InvalidParameterValue.FillType"),
        ({"HeadCandidateSet": "square"}, "InvalidParameter"),
        ({"HeadCandidateSet": [7]}, "InvalidParameter"),
        ({"Name": 5}, "InvalidParameter"),
        ({"Name": "x" * 65}, "InvalidParameterValue.Name"),
        ({"Type": "Custom"}, "UnknownParameter"),
    ],
)
def test_bad_templates(server: ServerProcess, fields: dict[str, Any], code: str) -> None:
    assert call_code(server, "CreateHeadTailTemplate", {"Name": "bad", **fields}) == code


def test_too_many_candidates_pictures_and_deleted_media(
    server: ServerProcess, clips: dict[str, Path]
) -> None:
    six = [add_media(server, clips["square"], f"sq{n}") for n in range(6)]
    code = call_code(server, "CreateHeadTailTemplate", {"Name": "six", "HeadCandidateSet": six})
    assert code == "InvalidParameterValue.FileIdsTooMany"
    definition = _create(server, HeadCandidateSet=six[:5])
    code = call_code(
        server, "ModifyHeadTailTemplate", {"Definition": definition, "TailCandidateSet": six}
    )
    assert code == "InvalidParameterValue.FileIdsTooMany"
    still = add_media(server, make_png(clips["square"].with_name("still.png")), "still")
    fields = {"Name": "still", "HeadCandidateSet": [still]}  # a picture is no head
    assert call_code(server, "CreateHeadTailTemplate", fields) == "InvalidParameterValue.FileId"
    server.call("DeleteMedia", {"FileId": six[5]})
    code = call_code(
        server, "CreateHeadTailTemplate", {"Name": "gone", "TailCandidateSet": [six[5]]}
    )
    assert code == "InvalidParameterValue.FileId"


def test_head_tail_set_names_existing_templates(server: ServerProcess, ids: dict[str, str]) -> None:
    mpt = {"TranscodeTaskSet": [{"Definition": 100010, "HeadTailSet": [{"Definition": 999}]}]}
    code = call_code(server, "ProcessMedia", {"FileId": ids["main"], "MediaProcessTask": mpt})
    assert code == "InvalidParameterValue.Definition"
    code = call_code(server, "CreateProcedureTemplate", {"Name": "ht-bad", "MediaProcessTask": mpt})
    assert code == "InvalidParameterValue.Definition"
    mpt["TranscodeTaskSet"][0]["HeadTailSet"] = [{"Definition": "1"}]
    code = call_code(server, "ProcessMedia", {"FileId": ids["main"], "MediaProcessTask": mpt})
    assert code == "InvalidParameter"
    mpt["TranscodeTaskSet"][0]["HeadTailSet"] = [{"Definition": 1}] * 11
    code = call_code(server, "ProcessMedia", {"FileId": ids["main"], "MediaProcessTask": mpt})
    assert code.startswith("InvalidParameterValue")
    # A procedure naming a real one is accepted and shows it back.
    definition = _create(server, HeadCandidateSet=[ids["square"]])
    mpt["TranscodeTaskSet"][0]["HeadTailSet"] = [{"Definition": definition}]
    server.call("CreateProcedureTemplate", {"Name": "ht-good", "MediaProcessTask": mpt})
    shown = server.call("DescribeProcedureTemplates", {"Names": ["ht-good"]})
    task = shown["ProcedureTemplateSet"][0]["MediaProcessTask"]["TranscodeTaskSet"][0]
    assert task["HeadTailSet"] == [{"Definition": definition}]


def test_a_head_whose_media_is_gone_fails_the_transcode(
    server: ServerProcess, clips: dict[str, Path], ids: dict[str, str]
) -> None:
    head = add_media(server, clips["square"], "doomed")
    definition = _create(server, HeadCandidateSet=[head])
    server.call("DeleteMedia", {"FileId": head})
    mpt = {
        "TranscodeTaskSet": [{"Definition": 100010, "HeadTailSet": [{"Definition": definition}]}]
    }
    task_id = server.call("ProcessMedia", {"FileId": ids["main"], "MediaProcessTask": mpt})[
        "TaskId"
    ]
    detail = wait_task(server, task_id)
    result = detail["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]
    assert result["Status"] == "FAIL" and result["ErrCodeExt"] == "SourceFileError"
    assert "HeadCandidateSet" in result["Message"]


# ----- the joined output -----


def _rgb(frame: Any, x: int, y: int) -> tuple[int, int, int]:
    plane = frame.planes[0]
    at = y * plane.line_size + x * 3
    data = bytes(plane)
    return data[at], data[at + 1], data[at + 2]


def _near(got: tuple[int, int, int], want: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


def _frames(path: Path) -> list[tuple[float, Any]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (float(f.pts * stream.time_base), f.reformat(format="rgb24"))
            for f in container.decode(stream)
        ]


def _levels(path: Path, windows: list[tuple[float, float]]) -> list[float]:
    """RMS (0-1) of the sound in each (start, end) window, mixed to mono."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    samples = array("h")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    levels = []
    for start, end in windows:
        part = samples[int(start * 48000) : int(end * 48000)]
        assert part, f"no sound in {start}-{end}s"
        levels.append(math.sqrt(sum(s * s for s in part) / len(part)) / 32768)
    return levels


@pytest.mark.slow
def test_heads_and_tails_join_the_transcode(
    server: ServerProcess, ids: dict[str, str], tmp_path: Path
) -> None:
    head_tpl = _create(server, HeadCandidateSet=[ids["portrait"], ids["square"]], FillType="white")
    tail_tpl = _create(server, TailCandidateSet=[ids["tail"]], FillType="black")
    made = server.call(
        "CreateTranscodeTemplate",
        {
            "Container": "mp4",
            "Name": "ht-320",
            "VideoTemplate": {"Codec": "libx264", "Fps": FPS, "Bitrate": 600, "Height": 240},
            "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100},
        },
    )
    task = {
        "Definition": int(made["Definition"]),
        "HeadTailSet": [{"Definition": head_tpl}, {"Definition": tail_tpl}],
    }
    # A sibling without HeadTailSet: a rendition of the main alone, not grouped with it.
    plain = {"Definition": 100010}
    req = models.ProcessMediaRequest()
    req.from_json_string(
        json.dumps({"FileId": ids["main"], "MediaProcessTask": {"TranscodeTaskSet": [task, plain]}})
    )
    task_id = server.vod().ProcessMedia(req).TaskId
    detail = wait_task(server, task_id)
    results = [r["TranscodeTask"] for r in detail["ProcedureTask"]["MediaProcessResultSet"]]
    assert results[1]["Status"] == "SUCCESS", results[1]
    assert abs(results[1]["Output"]["Duration"] - 2.0) < 0.1
    result = results[0]
    assert result["Status"] == "SUCCESS", result
    output = result["Output"]
    assert (output["Width"], output["Height"]) == (320, 240)
    assert abs(output["Duration"] - 4.0) < 0.1  # 1 s head + 2 s main + 1 s tail

    out = tmp_path / "joined.mp4"
    out.write_bytes(httpx.get(output["Url"], timeout=60).content)
    assert hashlib.md5(out.read_bytes()).hexdigest() == output["Md5"]
    assert out.stat().st_size == output["Size"]

    frames = _frames(out)
    assert all((f.width, f.height) == (320, 240) for _, f in frames)
    parts: list[str] = []
    for _, f in frames:
        centre = _rgb(f, 160, 120)
        parts.append("head" if _near(centre, GREEN) else "tail" if _near(centre, BLUE) else "main")
        assert not _near(centre, YELLOW), "the portrait candidate was not the closest shape"
    # Head, main, tail in order, each its length within one frame.
    runs = [p for n, p in enumerate(parts) if n == 0 or parts[n - 1] != p]
    assert runs == ["head", "main", "tail"]
    for name, seconds in (("head", 1.0), ("main", 2.0), ("tail", 1.0)):
        assert abs(parts.count(name) - seconds * FPS) <= 1, (name, parts.count(name))
    # Padding per FillType: the square head letterboxed white at 4:3 (240x240 in
    # 320x240: 40 px bars), the 2:1 tail black above and below (320x160: 40 px bars).
    head = [f for (_, f), p in zip(frames, parts, strict=True) if p == "head"]
    tail = [f for (_, f), p in zip(frames, parts, strict=True) if p == "tail"]
    for f in head[1:-1]:
        assert _near(_rgb(f, 10, 120), (255, 255, 255)) and _near(
            _rgb(f, 310, 120), (255, 255, 255)
        )
        assert _near(_rgb(f, 60, 120), GREEN)
    for f in tail[1:-1]:
        assert _near(_rgb(f, 160, 10), (0, 0, 0)) and _near(_rgb(f, 160, 230), (0, 0, 0))
        assert _near(_rgb(f, 160, 60), BLUE)
    # The main's counter frames play in order, none lost.
    main = [f for (_, f), p in zip(frames, parts, strict=True) if p == "main"]
    assert [frame_number(f) for f in main] == list(range(len(main)))

    # Sound across the whole output: silence under the head (which had none), the
    # main's and the tail's tones after it.
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.sample_rate == 44100
        assert float(stream.duration * stream.time_base) > 3.9
    head_level, main_level, tail_level = _levels(out, [(0.1, 0.9), (1.2, 2.8), (3.2, 3.9)])
    assert head_level < 0.001
    assert main_level > 0.05 and tail_level > 0.05


@pytest.mark.slow
def test_a_procedure_joins_its_heads_too(server: ServerProcess, ids: dict[str, str]) -> None:
    definition = _create(server, HeadCandidateSet=[ids["square"]], FillType="black")
    mpt = {
        "TranscodeTaskSet": [{"Definition": 100010, "HeadTailSet": [{"Definition": definition}]}]
    }
    server.call("CreateProcedureTemplate", {"Name": "ht-run", "MediaProcessTask": mpt})
    req = models.ProcessMediaByProcedureRequest()
    req.FileId, req.ProcedureName = ids["main"], "ht-run"
    detail = wait_task(server, server.vod().ProcessMediaByProcedure(req).TaskId)
    result = detail["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]
    assert result["Status"] == "SUCCESS", result
    assert abs(result["Output"]["Duration"] - 3.0) < 0.1  # 1 s head + 2 s main
