"""Pure rules of the media library: MediaType checks, MediaMetaData, tokens, URL safety."""

from __future__ import annotations

import pytest

from vodflow import net_policy
from vodflow.core.library import decode_scroll_token, encode_scroll_token
from vodflow.core.media_info import (
    check_type_matches,
    content_type,
    meta_data,
    normalise_media_type,
)
from vodflow.core.pull_upload import media_type_from_url, name_from_url
from vodflow.core.upload_objects import staging_key
from vodflow.core.uploads import parse_expire_time
from vodflow.errors import VodError
from vodflow.media.probe import AudioStreamInfo, MediaProbe, VideoStreamInfo
from vodflow.wire.media_views import category


def probe_of(container: str, *, codec: str = "h264", tag: str = "avc1") -> MediaProbe:
    return MediaProbe(
        size=10,
        container=container,
        bitrate=1000,
        width=640,
        height=480,
        duration=60.0,
        rotate=90,
        video_streams=(VideoStreamInfo(900, 640, 480, codec, 23, tag),),
        audio_streams=(AudioStreamInfo(100, 48000, "aac", 2),),
        video_duration=60.0,
        audio_duration=59.99,
        md5="0" * 32,
    )


@pytest.mark.parametrize(
    ("declared", "container", "ok"),
    [
        ("mp4", "mov,mp4,m4a,3gp,3g2,mj2", True),
        ("m4a", "mov,mp4,m4a,3gp,3g2,mj2", True),
        ("mov", "mov,mp4,m4a,3gp,3g2,mj2", True),
        ("flv", "mov,mp4,m4a,3gp,3g2,mj2", False),
        ("mkv", "matroska,webm", True),
        ("webm", "matroska,webm", True),
        ("mp4", "png_pipe", False),
        ("png", "png_pipe", True),
        ("ts", "mpegts", True),
    ],
)
def test_type_matches(declared: str, container: str, ok: bool) -> None:
    if ok:
        check_type_matches(declared, probe_of(container))
    else:
        with pytest.raises(VodError) as info:
            check_type_matches(declared, probe_of(container))
        assert info.value.code == "InvalidParameterValue.MediaType"


@pytest.mark.parametrize("bad", ["", "exe", "m3u8", "../mp4", "mp4/..", "a" * 30, "MP4 "])
def test_normalise_media_type(bad: str) -> None:
    if bad == "MP4 ":
        assert normalise_media_type(bad) == "mp4"
        return
    with pytest.raises(VodError):
        normalise_media_type(bad)


def test_meta_data_shape() -> None:
    meta = meta_data(probe_of("mov,mp4,m4a,3gp,3g2,mj2"))
    assert meta["VideoStreamSet"] == [
        {"Bitrate": 900, "Height": 480, "Width": 640, "Codec": "h264", "Fps": 23}
    ]
    assert meta["AudioStreamSet"] == [{"Bitrate": 100, "SamplingRate": 48000, "Codec": "aac"}]
    assert meta["Rotate"] == 90 and meta["Md5"] == "0" * 32
    hevc = meta_data(probe_of("mov", codec="hevc", tag="hvc1"))
    assert hevc["VideoStreamSet"][0]["CodecTag"] == "hvc1"
    assert category(meta) == "Video"
    assert category({"Container": "png_pipe"}) == "Image"
    assert category({"VideoStreamSet": [], "AudioStreamSet": [{}]}) == "Audio"


def test_content_types() -> None:
    assert content_type("a.mp4") == "video/mp4"
    assert content_type("x/cover.PNG") == "image/png"
    assert content_type("v.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type("noext") == "application/octet-stream"


def test_scroll_token_round_trip_and_tamper() -> None:
    token = encode_scroll_token((1700000000.5, "123"), True)
    assert decode_scroll_token(token, True) == (1700000000.5, "123")
    with pytest.raises(VodError):
        decode_scroll_token(token, False)
    for bad in ("", "!!!", "e30=", encode_scroll_token((1, "x"), True)[:-4]):
        with pytest.raises(VodError):
            decode_scroll_token(bad, True)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert net_policy.is_public(address) is public


def test_url_helpers_and_keys() -> None:
    assert media_type_from_url("http://h/a/b/Clip.MP4?x=1") == "mp4"
    assert media_type_from_url("http://h/a/b/") is None
    assert name_from_url("http://h/dir/My%20Clip.mp4") == "My Clip"
    assert staging_key("upload/abc/x.mp4") == "uploads/abc/x.mp4"
    assert parse_expire_time(None) is None
    with pytest.raises(VodError) as info:
        parse_expire_time("2000-01-01T00:00:00Z")
    assert info.value.code == "InvalidParameterValue.ExpireTime"
