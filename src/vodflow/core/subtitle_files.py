"""A media's subtitles as files: their MediaSubtitleItem, and carrying them into an
adaptive stream (shared by the AdaptiveDynamicStreaming kind and AttachMediaSubtitles)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vodflow.core.blobkeys import url_for
from vodflow.media.ops import subtitles as st


def subtitle_item(row: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """Tencent's MediaSubtitleItem of a `media_subtitles` row."""
    return {
        "Id": row["subtitle_id"],
        "Name": row["name"],
        "Language": row["language"],
        "Format": row["format"],
        "Url": url_for(public_url, row["blob_key"]),
        "Source": "UserUploaded",
    }


@dataclass(frozen=True)
class Carried:
    """A subtitle going into a stream: its row and the file it was stored as."""

    row: Mapping[str, Any]
    path: Path

    @property
    def id(self) -> str:
        return str(self.row["subtitle_id"])

    def track(self, default: str | None) -> st.Track:
        row = self.row
        return st.Track(self.id, row["name"], row["language"], default == self.id)


def write_tracks(master: Path, carried: Sequence[Carried]) -> list[Path]:
    """Segment each subtitle beside `master` (raises SubtitleError); the files written."""
    files: list[Path] = []
    for c in carried:
        subs = st.parse(c.path.read_bytes(), str(c.row["format"]))
        files += st.write_track(master, c.id, subs)
    return files


def name_tracks(master: Path, carried: Sequence[Carried], default: str | None) -> None:
    """Make the master playlist list exactly `carried`, in that order."""
    st.rewrite_master(master, [c.track(default) for c in carried])
