"""Subtitle files: strict WebVTT/SRT parsing, SRT to WebVTT, HLS segmenting and the
master playlist's SUBTITLES group (media/ops/subtitles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from vodflow.media.ops import subtitles as st

VTT = b"""WEBVTT - a title

STYLE
::cue { color: yellow }

NOTE a comment that is dropped

intro
00:00.500 --> 00:02.500 line:0 align:start
Hello <b>there</b>

00:00:03.000 --> 00:00:06.250
Two
lines
"""

SRT = b"""1
00:00:01,000 --> 00:00:02,500
<i>Bonjour</i> & <font color="red">salut</font>

2
00:00:04,5 --> 00:00:05,000 X1:10 X2:20
{\\an8}a < b --> c
"""


def test_webvtt_cues_settings_and_blocks() -> None:
    subs = st.parse(VTT, "vtt")
    assert [(c.start, c.end) for c in subs.cues] == [(500, 2500), (3000, 6250)]
    assert subs.cues[0].ident == "intro"
    assert subs.cues[0].settings == "line:0 align:start"
    assert subs.cues[1].text == "Two\nlines"
    assert subs.blocks == ("STYLE\n::cue { color: yellow }",)
    again = st.parse(subs.webvtt().encode(), "vtt")
    assert again == subs


def test_srt_becomes_webvtt() -> None:
    subs = st.parse(b"\xef\xbb\xbf" + SRT.replace(b"\n", b"\r\n"), "srt")
    assert [(c.start, c.end) for c in subs.cues] == [(1000, 2500), (4500, 5000)]
    assert subs.cues[0].text == "<i>Bonjour</i> &amp; salut"
    assert subs.cues[1].text == "a &lt; b --&gt; c"
    text = subs.webvtt()
    assert text.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n")
    assert st.parse(text.encode(), "vtt").cues == subs.cues


@pytest.mark.parametrize(
    ("data", "fmt", "why"),
    [
        (b"", "vtt", "empty"),
        (b"  \n\n", "srt", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "vtt", "UTF-8"),
        (b"WEBVTT\n\n00:01.000 --> 00:02.000\n\x00\x01\x02", "vtt", "binary"),
        (b"\xff\xfe\x00W", "vtt", "UTF-8"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "vtt", "WEBVTT"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "srt", "not an SRT cue"),
        (b"WEBVTT\n", "vtt", "no cue"),
        (b"WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", "vtt", "WEBVTT"),
        (b"WEBVTT\n\n00:02.000 --> 00:01.000\nx\n", "vtt", "ends before"),
        (b"WEBVTT\n\n00:01.000 --> 00:61.000\nx\n", "vtt", "timestamp"),
        (b"WEBVTT\n\n1:02.000 --> 00:03.000\nx\n", "vtt", "timestamp"),
        (b"WEBVTT\n\njust text\nmore\n", "vtt", "without"),
        (b"WEBVTT\n\n00:01.000 --> 00:02.000\nx\n00:03.000 --> 00:04.000\n", "vtt", "-->"),
        (SRT, "vtt", "WEBVTT"),
        (VTT, "srt", "not an SRT cue"),
        (b"1\n00:00:02,000 --> 00:00:01,000\nx\n", "srt", "ends before"),
    ],
)
def test_what_is_not_a_subtitle_is_refused(data: bytes, fmt: str, why: str) -> None:
    with pytest.raises(st.SubtitleError) as info:
        st.parse(data, fmt)
    assert why in info.value.message


@settings(max_examples=200, deadline=None)
@given(hs.binary(max_size=300), hs.sampled_from(["vtt", "srt"]))
def test_any_bytes_parse_or_refuse(data: bytes, fmt: str) -> None:
    """Whatever a caller sends: parsed cues (which then write and re-parse), or SubtitleError."""
    try:
        subs = st.parse(data, fmt)
    except st.SubtitleError:
        return
    assert st.parse(subs.webvtt().encode(), "vtt").cues == subs.cues


def test_segments_hold_the_cues_overlapping_them() -> None:
    subs = st.parse(VTT, "vtt")
    texts = st.segment(subs, [2.0, 2.0, 2.0, 1.0], 133200)
    assert len(texts) == 4
    for text in texts:
        assert text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:133200,LOCAL:00:00:00.000\n\n")
        assert "STYLE\n::cue { color: yellow }" in text
    cues = [[c.start for c in st.parse(t.encode(), "vtt").cues] for t in texts]
    # 0.5-2.5 spans the first boundary; 3.0-6.25 spans three segments.
    assert cues == [[500], [500, 3000], [3000], [3000]]


def test_master_playlist_names_the_group(tmp_path: Path) -> None:
    master = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=2x2\nadaptive/v0.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=200,RESOLUTION=4x4\nadaptive/v1.m3u8\n"
    )
    tracks = [
        st.Track("en", 'Eng"lish', "en", default=True),
        st.Track("en2", "English", "en-GB"),
    ]
    text = st.master_text(master, "adaptive", tracks)
    lines = text.splitlines()
    assert lines[3] == (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",'
        'DEFAULT=YES,AUTOSELECT=YES,URI="adaptive/subtitles/en.m3u8"'
    )
    assert 'NAME="English (en2)",LANGUAGE="en-GB",DEFAULT=NO' in lines[4]
    assert [x for x in lines if x.startswith("#EXT-X-STREAM-INF")] == [
        '#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=2x2,SUBTITLES="subs"',
        '#EXT-X-STREAM-INF:BANDWIDTH=200,RESOLUTION=4x4,SUBTITLES="subs"',
    ]
    # Rewriting is idempotent, and no tracks gives back the original.
    assert st.master_text(text, "adaptive", tracks) == text
    assert st.master_text(text, "adaptive", []) == master
