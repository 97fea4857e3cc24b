"""Subtitles through the official SDK: ModifyMediaInfo AddSubtitles / DeleteSubtitleIds /
ClearSubtitles, MediaInfo SubtitleInfo, AdaptiveDynamicStreaming SubtitleSet and
AttachMediaSubtitles, with the HLS outputs read back (master playlist, subtitle
playlist, segment cues, the frame cue time 0 maps to) and bad input answered with
Tencent's codes."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from tencentcloud.vod.v20180717 import models

from tests import framecode, mediagen
from tests.assertions import call_code, code_of
from tests.flows_support import add_media, wait_task
from tests.servers import ServerProcess
from tests.uploadkit import upload

pytestmark = pytest.mark.e2e

VTT = """WEBVTT

first
00:00.500 --> 00:02.500
Hello <b>world</b>

00:03.000 --> 00:05.000 line:0
Second cue
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
<i>Bonjour</i> & <font color="red">salut</font>

2
00:00:05,000 --> 00:00:06,000
Fin
"""

CUE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})", re.M)


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def subtitle_input(
    name: str, language: str, fmt: str, content: str, sid: str | None = None
) -> models.MediaSubtitleInput:
    item = models.MediaSubtitleInput()
    item.Name, item.Language, item.Format, item.Content = name, language, fmt, b64(content)
    if sid is not None:
        item.Id = sid
    return item


def add_subtitles(
    server: ServerProcess, file_id: str, *items: models.MediaSubtitleInput
) -> list[Any]:
    req = models.ModifyMediaInfoRequest()
    req.FileId, req.AddSubtitles = file_id, list(items)
    return list(server.vod().ModifyMediaInfo(req).AddedSubtitleSet)


def media_info(server: ServerProcess, file_id: str) -> Any:
    req = models.DescribeMediaInfosRequest()
    req.FileIds = [file_id]
    return server.vod().DescribeMediaInfos(req).MediaInfoSet[0]


def attach(
    server: ServerProcess,
    file_id: str,
    operation: str,
    definition: int,
    ids: list[str],
    default: str | None = None,
) -> None:
    req = models.AttachMediaSubtitlesRequest()
    req.FileId, req.Operation = file_id, operation
    req.AdaptiveDynamicStreamingDefinition, req.SubtitleIds = definition, ids
    if default is not None:
        req.DefaultSubtitleId = default
    server.vod().AttachMediaSubtitles(req)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A frame counter, so the frame a cue time maps to can be read off the picture.
    return mediagen.make_counter_video(
        tmp_path_factory.mktemp("subtitles") / "counter.mp4", duration=7, fps=25, audio=True
    )


@pytest.fixture
def file_id(server: ServerProcess, clip: Path) -> str:
    return add_media(server, clip, name="subtitled")


def media_lines(master: str) -> list[dict[str, str]]:
    found = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-MEDIA:"):
            found.append(dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line[13:])))
    return [{k: v.strip('"') for k, v in m.items()} for m in found]


def durations(playlist: str) -> list[float]:
    return [float(x) for x in re.findall(r"^#EXTINF:([\d.]+),", playlist, re.M)]


def uris(playlist: str) -> list[str]:
    return [x for x in playlist.splitlines() if x and not x.startswith("#")]


def seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.slow
def test_subtitles_into_the_adaptive_stream_and_attached_later(
    server: ServerProcess, file_id: str, tmp_path: Path
) -> None:
    added = add_subtitles(
        server,
        file_id,
        subtitle_input("English", "en", "vtt", VTT, sid="en-1"),
        subtitle_input("Français", "fr", "srt", SRT),
    )
    assert (added[0].Id, added[0].Name, added[0].Language, added[0].Format) == (
        "en-1",
        "English",
        "en",
        "vtt",
    )
    fr = added[1].Id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,16}", fr) and fr != "en-1"
    listed = media_info(server, file_id).SubtitleInfo.SubtitleSet
    assert [(s.Id, s.Format, s.Source) for s in listed] == [
        ("en-1", "vtt", "UserUploaded"),
        (fr, "srt", "UserUploaded"),
    ]
    # Served at their URL as sent.
    assert httpx.get(listed[0].Url, timeout=30).text == VTT
    assert httpx.get(listed[1].Url, timeout=30).text == SRT

    definition = int(
        server.call(
            "CreateAdaptiveDynamicStreamingTemplate",
            {
                "Format": "HLS",
                "Name": "subs",
                "SegmentDuration": 2,
                "StreamInfos": [
                    {
                        "Video": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 240},
                        "Audio": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100},
                    },
                    {
                        "Video": {"Codec": "libx264", "Fps": 25, "Bitrate": 150, "Height": 128},
                        "Audio": {"Codec": "libfdk_aac", "Bitrate": 48, "SampleRate": 44100},
                    },
                ],
            },
        )["Definition"]
    )
    # ProcessMedia through the SDK model, SubtitleSet naming the WebVTT one.
    task = models.AdaptiveDynamicStreamingTaskInput()
    task.Definition, task.SubtitleSet = definition, ["en-1"]
    mpt = models.MediaProcessTaskInput()
    mpt.AdaptiveDynamicStreamingTaskSet = [task]
    req = models.ProcessMediaRequest()
    req.FileId, req.MediaProcessTask = file_id, mpt
    detail = wait_task(server, server.vod().ProcessMedia(req).TaskId)
    (result,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    body = result["AdaptiveDynamicStreamingTask"]
    assert body["Status"] == "SUCCESS", body
    assert body["Input"]["SubtitleSet"] == ["en-1"]
    assert [s["Id"] for s in body["Output"]["SubtitleSet"]] == ["en-1"]

    master_url = body["Output"]["Url"]
    base = master_url.rsplit("/", 1)[0]
    master = httpx.get(master_url, timeout=30).text
    (media,) = media_lines(master)
    assert media == {
        "TYPE": "SUBTITLES",
        "GROUP-ID": "subs",
        "NAME": "English",
        "LANGUAGE": "en",
        "DEFAULT": "NO",
        "AUTOSELECT": "YES",
        "URI": media["URI"],
    }
    variants = [x for x in master.splitlines() if x.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 2 and all(v.endswith(',SUBTITLES="subs"') for v in variants)
    video_pl = httpx.get(f"{base}/{uris(master)[0]}", timeout=30).text
    sub_url = f"{base}/{media['URI']}"
    sub_pl = httpx.get(sub_url, timeout=30).text
    # Aligned: one subtitle segment per video segment, of the same durations.
    assert durations(sub_pl) == durations(video_pl) and len(durations(sub_pl)) == 4
    assert "#EXT-X-ENDLIST" in sub_pl and "#EXT-X-PLAYLIST-TYPE:VOD" in sub_pl
    segs = [httpx.get(f"{sub_url.rsplit('/', 1)[0]}/{u}", timeout=30) for u in uris(sub_pl)]
    assert all(s.status_code == 200 and s.headers["content-type"].startswith("text/vtt")
               for s in segs)  # fmt: skip
    texts = [s.text for s in segs]
    cues = [[(seconds(a), seconds(b)) for a, b in CUE.findall(t)] for t in texts]
    # Each segment holds the cues overlapping its 2 s, at their own times.
    assert cues == [[(0.5, 2.5)], [(0.5, 2.5), (3.0, 5.0)], [(3.0, 5.0)], []]
    assert "first\n00:00:00.500 --> 00:00:02.500\nHello <b>world</b>" in texts[0]
    assert "00:00:03.000 --> 00:00:05.000 line:0\nSecond cue" in texts[1]

    # X-TIMESTAMP-MAP maps cue time 0 to the first video frame, which shows frame 0.
    mpegts = {int(m) for t in texts for m in re.findall(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),", t)}
    first_ts = tmp_path / "first.ts"
    video_base = f"{base}/{uris(master)[0]}".rsplit("/", 1)[0]
    first_ts.write_bytes(httpx.get(f"{video_base}/{uris(video_pl)[0]}", timeout=30).content)
    with av.open(str(first_ts)) as container:
        frame = next(container.decode(video=0))
        assert mpegts == {frame.pts} and framecode.frame_number(frame) == 0

    info = media_info(server, file_id).AdaptiveDynamicStreamingInfo
    (item,) = [i for i in info.AdaptiveDynamicStreamingSet if i.Definition == definition]
    assert [s.Id for s in item.SubtitleSet] == ["en-1"] and item.DefaultSubtitleId is None

    # Attach the SRT one as the default: converted to WebVTT in the stream.
    attach(server, file_id, "Attach", definition, [fr], default=fr)
    master = httpx.get(master_url, timeout=30).text
    by_lang = {m["LANGUAGE"]: m for m in media_lines(master)}
    assert set(by_lang) == {"en", "fr"}
    assert (by_lang["fr"]["DEFAULT"], by_lang["en"]["DEFAULT"]) == ("YES", "NO")
    fr_url = f"{base}/{by_lang['fr']['URI']}"
    fr_pl = httpx.get(fr_url, timeout=30).text
    assert durations(fr_pl) == durations(video_pl)
    fr_texts = [httpx.get(f"{fr_url.rsplit('/', 1)[0]}/{u}", timeout=30).text for u in uris(fr_pl)]
    assert fr_texts[0].startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:")
    assert "00:00:01.000 --> 00:00:03.500\n<i>Bonjour</i> &amp; salut" in fr_texts[0]
    # 1-3.5 s spans the first boundary; 5-6 s ends where the last segment starts.
    assert [[seconds(a) for a, _ in CUE.findall(t)] for t in fr_texts] == [[1.0], [1.0], [5.0], []]
    items = media_info(server, file_id).AdaptiveDynamicStreamingInfo.AdaptiveDynamicStreamingSet
    item = next(i for i in items if i.Definition == definition)
    assert [s.Id for s in item.SubtitleSet] == ["en-1", fr] and item.DefaultSubtitleId == fr
    assert item.Size > body["Output"]["Size"]

    # Detach the WebVTT one: gone from the master, its files no longer served.
    attach(server, file_id, "Detach", definition, ["en-1"])
    master = httpx.get(master_url, timeout=30).text
    assert [m["LANGUAGE"] for m in media_lines(master)] == ["fr"]
    assert httpx.get(sub_url, timeout=30).status_code == 404
    # Unknown ids, and detaching what is not attached.
    assert call_code(
        server,
        "AttachMediaSubtitles",
        {"FileId": file_id, "Operation": "Attach",
         "AdaptiveDynamicStreamingDefinition": definition, "SubtitleIds": ["nope"]},
    ) == "InvalidParameterValue"  # fmt: skip
    assert call_code(
        server,
        "AttachMediaSubtitles",
        {"FileId": file_id, "Operation": "Detach",
         "AdaptiveDynamicStreamingDefinition": definition, "SubtitleIds": ["en-1"]},
    ) == "InvalidParameterValue"  # fmt: skip
    assert call_code(
        server,
        "AttachMediaSubtitles",
        {"FileId": file_id, "Operation": "Attach", "DefaultSubtitleId": "zz",
         "AdaptiveDynamicStreamingDefinition": definition, "SubtitleIds": ["en-1"]},
    ) == "InvalidParameterValue"  # fmt: skip

    # Deleting the subtitle detaches it from the stream too.
    req2 = models.ModifyMediaInfoRequest()
    req2.FileId, req2.DeleteSubtitleIds = file_id, [fr]
    assert server.vod().ModifyMediaInfo(req2).AddedSubtitleSet == []
    master = httpx.get(master_url, timeout=30).text
    assert "#EXT-X-MEDIA" not in master and "SUBTITLES=" not in master
    assert httpx.get(fr_url, timeout=30).status_code == 404
    assert httpx.get(listed[1].Url, timeout=30).status_code == 404
    after = media_info(server, file_id)
    assert [s.Id for s in after.SubtitleInfo.SubtitleSet] == ["en-1"]
    item = next(
        i
        for i in after.AdaptiveDynamicStreamingInfo.AdaptiveDynamicStreamingSet
        if i.Definition == definition
    )
    assert item.SubtitleSet is None and item.DefaultSubtitleId is None
    # The stream still plays: every variant segment is served.
    assert httpx.get(f"{video_base}/{uris(video_pl)[-1]}", timeout=30).status_code == 200

    # Deleting the stream takes its subtitle renditions along; the subtitles stay.
    attach(server, file_id, "Attach", definition, ["en-1"])
    assert httpx.get(sub_url, timeout=30).status_code == 200
    server.call(
        "DeleteMedia",
        {"FileId": file_id,
         "DeleteParts": [{"Type": "AdaptiveDynamicStreamingFiles", "Definition": definition}]},
    )  # fmt: skip
    assert httpx.get(sub_url, timeout=30).status_code == 404
    assert (
        httpx.get(f"{sub_url.rsplit('/', 1)[0]}/{uris(sub_pl)[0]}", timeout=30).status_code == 404
    )
    kept = media_info(server, file_id)
    assert kept.AdaptiveDynamicStreamingInfo is None
    assert [s.Id for s in kept.SubtitleInfo.SubtitleSet] == ["en-1"]
    assert httpx.get(listed[0].Url, timeout=30).text == VTT


def test_subtitles_added_deleted_and_cleared(server: ServerProcess, file_id: str) -> None:
    added = add_subtitles(
        server,
        file_id,
        subtitle_input("a", "en", "vtt", VTT, sid="a"),
        subtitle_input("b", "zh-Hans", "srt", SRT, sid="b"),
        subtitle_input("c", "ja", "vtt", VTT, sid="c"),
    )
    assert [s.Id for s in added] == ["a", "b", "c"]
    req = models.ModifyMediaInfoRequest()
    req.FileId, req.DeleteSubtitleIds = file_id, ["b"]
    req.AddSubtitles = [subtitle_input("d", "ko", "vtt", VTT, sid="d")]
    assert [s.Id for s in server.vod().ModifyMediaInfo(req).AddedSubtitleSet] == ["d"]
    info = media_info(server, file_id)
    assert [s.Id for s in info.SubtitleInfo.SubtitleSet] == ["a", "c", "d"]
    # Filters pick the section like the others.
    only = server.call("DescribeMediaInfos", {"FileIds": [file_id], "Filters": ["subtitleInfo"]})
    assert set(only["MediaInfoSet"][0]) == {"FileId", "SubtitleInfo"}
    # The same Id may come back once it was deleted.
    again = add_subtitles(server, file_id, subtitle_input("b", "en", "vtt", VTT, sid="b"))
    assert [s.Id for s in again] == ["b"]
    clear = models.ModifyMediaInfoRequest()
    clear.FileId, clear.ClearSubtitles = file_id, 1
    server.vod().ModifyMediaInfo(clear)
    assert media_info(server, file_id).SubtitleInfo is None
    urls = [s.Url for s in added]
    assert all(httpx.get(u, timeout=30).status_code == 404 for u in urls)


def _add(server: ServerProcess, file_id: str, **item: Any) -> str:
    sub = {"Name": "x", "Language": "en", "Format": "vtt", "Content": b64(VTT), **item}
    return call_code(server, "ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": [sub]})


def test_bad_subtitles_answer_tencent_codes(server: ServerProcess, file_id: str) -> None:
    bad_format = "InvalidParameterValue.SubtitleFormat"
    assert _add(server, file_id, Format="ass") == bad_format
    assert _add(server, file_id, Content=b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00")) == (
        bad_format
    )
    assert _add(server, file_id, Content=b64(b"WEBVTT\n\n00:01.000 --> 00:02.000\n\x00\x01")) == (
        bad_format
    )
    html = "<!DOCTYPE html><html><body><p>00:01 hello</p></body></html>"
    assert _add(server, file_id, Content=b64(html)) == bad_format
    assert _add(server, file_id, Format="srt", Content=b64(html)) == bad_format
    assert _add(server, file_id, Content=b64("  \n")) == bad_format
    assert _add(server, file_id, Format="srt", Content=b64(VTT)) == bad_format
    assert _add(server, file_id, Content=b64("WEBVTT\n")) == bad_format
    assert _add(server, file_id, Content="") == "InvalidParameterValue"
    assert _add(server, file_id, Content="not base64!") == "InvalidParameterValue"
    oversize = VTT + "\n" + "x" * (2 * 1024 * 1024)
    assert _add(server, file_id, Content=b64(oversize)) == "InvalidParameterValue"
    assert _add(server, file_id, Id="a*b") == "InvalidParameterValue"
    assert _add(server, file_id, Id="x" * 17) == "InvalidParameterValue"
    assert _add(server, file_id, Language="english!") == "InvalidParameterValue"
    assert _add(server, file_id, Name=5) == "InvalidParameter"
    assert _add(server, file_id, Content=5) == "InvalidParameter"
    assert _add(server, file_id, Extra="x") == "UnknownParameter"
    assert (
        call_code(server, "ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": {"Name": "x"}})
        == "InvalidParameter"
    )
    # Nothing of the refused ones was kept.
    assert media_info(server, file_id).SubtitleInfo is None

    add_subtitles(server, file_id, subtitle_input("a", "en", "vtt", VTT, sid="a"))
    assert _add(server, file_id, Id="a") == "InvalidParameterValue"  # already there
    two = [{"Name": "x", "Language": "en", "Format": "vtt", "Content": b64(VTT), "Id": "z"}] * 2
    assert (
        call_code(server, "ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": two})
        == "InvalidParameterValue"
    )
    assert (
        call_code(server, "ModifyMediaInfo", {"FileId": file_id, "DeleteSubtitleIds": ["nope"]})
        == "InvalidParameterValue"
    )
    one = [{"Name": "x", "Language": "en", "Format": "vtt", "Content": b64(VTT)}]
    assert (
        call_code(
            server, "ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": one, "ClearSubtitles": 1}
        )
        == "InvalidParameterValue"
    )
    assert (
        call_code(
            server,
            "ModifyMediaInfo",
            {
                "FileId": file_id,
                "AddSubtitles": [{**one[0], "Id": "q"}],
                "DeleteSubtitleIds": ["q"],
            },
        )
        == "InvalidParameterValue"
    )
    # At most 16 per media.
    many = [{**one[0], "Id": f"m{i}"} for i in range(15)]
    server.call("ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": many})
    assert (
        call_code(server, "ModifyMediaInfo", {"FileId": file_id, "AddSubtitles": one})
        == "LimitExceeded"
    )
    assert (
        call_code(server, "ModifyMediaInfo", {"FileId": "5285890000000000000", "AddSubtitles": one})
        == "ResourceNotFound.FileNotExist"
    )
    assert len(media_info(server, file_id).SubtitleInfo.SubtitleSet) == 16


def test_bad_attach_and_subtitle_set(server: ServerProcess, file_id: str) -> None:
    add_subtitles(server, file_id, subtitle_input("a", "en", "vtt", VTT, sid="a"))
    params = {
        "FileId": file_id,
        "Operation": "Attach",
        "AdaptiveDynamicStreamingDefinition": 10,
        "SubtitleIds": ["a"],
    }
    # Preset 10 exists, but this media has no stream of it yet.
    assert call_code(server, "AttachMediaSubtitles", params) == "InvalidParameterValue.Definition"
    assert (
        call_code(
            server, "AttachMediaSubtitles", {**params, "AdaptiveDynamicStreamingDefinition": 987654}
        )
        == "InvalidParameterValue.Definition"
    )
    assert (
        call_code(server, "AttachMediaSubtitles", {**params, "FileId": "5285890000000000000"})
        == "ResourceNotFound.FileNotExist"
    )
    assert (
        call_code(server, "AttachMediaSubtitles", {**params, "Operation": "Link"})
        == "InvalidParameterValue.Operation"
    )
    assert call_code(server, "AttachMediaSubtitles", {**params, "SubtitleIds": []}) == (
        "InvalidParameterValue"
    )
    assert call_code(server, "AttachMediaSubtitles", {**params, "SubtitleIds": "a"}) == (
        "InvalidParameter"
    )
    assert (
        call_code(
            server, "AttachMediaSubtitles", {**params, "AdaptiveDynamicStreamingDefinition": "10"}
        )
        == "InvalidParameter"
    )
    del params["Operation"]
    assert call_code(server, "AttachMediaSubtitles", params) == "MissingParameter"

    vod = server.vod()
    task = models.AdaptiveDynamicStreamingTaskInput()
    task.Definition, task.SubtitleSet = 10, ["nope"]
    mpt = models.MediaProcessTaskInput()
    mpt.AdaptiveDynamicStreamingTaskSet = [task]
    req = models.ProcessMediaRequest()
    req.FileId, req.MediaProcessTask = file_id, mpt
    assert code_of(vod.ProcessMedia, req) == "InvalidParameterValue"
    ads = {"Definition": 10, "SubtitleSet": "a"}
    assert (
        call_code(
            server,
            "ProcessMedia",
            {"FileId": file_id, "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [ads]}},
        )
        == "InvalidParameter"
    )


def test_a_procedure_naming_a_missing_subtitle(
    server: ServerProcess, file_id: str, clip: Path
) -> None:
    """ProcessMediaByProcedure checks the ids on its media at once; a procedure run on
    upload (a new media has no subtitles yet) fails its subtask with InvalidInput
    before any encoding, and the flow still ends."""
    name = f"subs{time.time_ns() % 10**12}"
    ads = {"Definition": 10, "SubtitleSet": ["absent"]}
    server.call(
        "CreateProcedureTemplate",
        {"Name": name, "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [ads]}},
    )
    assert (
        call_code(server, "ProcessMediaByProcedure", {"FileId": file_id, "ProcedureName": name})
        == "InvalidParameterValue"
    )
    committed = upload(server, clip, Procedure=name)
    (task,) = server.call("DescribeTasks", {"FileId": committed["FileId"]})["TaskSet"]
    detail = wait_task(server, task["TaskId"])
    (result,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    body = result["AdaptiveDynamicStreamingTask"]
    assert (body["Status"], body["ErrCodeExt"]) == ("FAIL", "InvalidInput")
    assert "absent" in body["Message"]
    assert media_info(server, committed["FileId"]).AdaptiveDynamicStreamingInfo is None
