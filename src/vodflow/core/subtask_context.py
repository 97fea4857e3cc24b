"""What a kind's run is given (kinds.RunContext): one run's claimed subtasks and helpers.

core/subtasks.py builds one per run of claimed subtasks; the kinds (core/kinds/) read
their inputs and templates through it and name their outputs with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core.blobkeys import url_for
from vodflow.core.claims import Claim
from vodflow.core.kinds import Outcome
from vodflow.core.library import LibraryService
from vodflow.core.subtitle_files import Carried, subtitle_item
from vodflow.core.templates import TemplateService
from vodflow.media.probe import MediaProbe
from vodflow.store import subtitles as subtitles_q
from vodflow.store.db import Database

DEFINITION_NOT_EXIST = "InvalidInput.DefinitionNotExist"


class Runner(Protocol):
    """What a run's context uses of its runner (core/subtasks.py SubtaskRunner)."""

    db: Database
    blobs: BlobStore
    settings: Settings
    library: LibraryService
    templates: TemplateService

    @property
    def public_url(self) -> str: ...


@dataclass
class SubtaskContext:
    """One run's inputs and the helpers every kind's run shares (kinds.RunContext)."""

    runner: Runner
    claim: Claim
    media: Mapping[str, Any]
    duration: float
    on_progress: Callable[[float], None]
    # The claimed subtasks this run does (all but those a fault rule failed).
    rows: list[dict[str, Any]]
    # FFmpeg threads for an op starting now (core/subtasks.py `ffmpeg_threads`).
    threads: Callable[[], int]
    # The source's probe, if stored (else each op probes the source itself).
    source_probe: MediaProbe | None = None

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.media.get("meta") or {}

    async def template(self, family: str, definition: int) -> dict[str, Any] | None:
        app_id = int(self.claim.task["app_id"])
        return await self.runner.templates.find(app_id, family, definition)

    async def other_media(self, file_id: str) -> Mapping[str, Any] | None:
        return await self.runner.library.get(int(self.claim.task["app_id"]), file_id)

    def missing(self, o: Outcome, family: str, definition: int) -> None:
        o.fail(DEFINITION_NOT_EXIST, f"the {family} template {definition} does not exist")

    @property
    def src(self) -> str:
        return str(self.media["path"])

    @property
    def folder(self) -> str:
        return str(self.media["folder"])

    @property
    def work(self) -> Path:
        return self.claim.work

    def key(self, path: Path) -> str:
        return f"{self.folder}/{path.relative_to(self.work).as_posix()}"

    def url(self, path: Path) -> str:
        return url_for(self.runner.public_url, self.key(path))

    def url_of(self, name: str) -> str:
        return url_for(self.runner.public_url, f"{self.folder}/{name}")

    def entry(self, name: str) -> tuple[Path, str]:
        return self.work / name, f"{self.folder}/{name}"

    @property
    def cheap_media(self) -> bool:
        return self.runner.settings.test_cheap_media

    def opts(self) -> dict[str, Any]:
        return {
            "on_progress": self.on_progress,
            "threads": self.threads(),
            "source_probe": self.source_probe,
        }

    async def subtitles(self, ids: Sequence[str]) -> list[Carried]:
        async with self.runner.db.read() as conn:
            found = await subtitles_q.of_media(conn, self.media["file_id"])
        rows = {r["subtitle_id"]: r for r in found}
        blobs = self.runner.blobs
        return [Carried(rows[i], blobs.path(rows[i]["blob_key"])) for i in ids if i in rows]

    def subtitle_item(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return subtitle_item(row, self.runner.public_url)

    def blob_path(self, key: str) -> Path:
        return self.runner.blobs.path(key)
