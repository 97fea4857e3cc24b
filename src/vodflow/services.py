"""The services one process runs, as the composition root (app.py) built them.

The API handlers, the file and COS endpoints and /metrics read them from the
Starlette app's state; nothing below the API takes this bag: each core service
gets only the narrow things it uses, in app.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core.apps import AppService
from vodflow.core.classes import ClassService
from vodflow.core.credentials import Credential, CredentialService
from vodflow.core.edit_media import EditMediaService
from vodflow.core.faults import FaultBook
from vodflow.core.file_attributes import FileAttributesService
from vodflow.core.flows import FlowService
from vodflow.core.library import LibraryService
from vodflow.core.pull_upload import PullUploadService
from vodflow.core.split_media import SplitMediaService
from vodflow.core.subtasks import SubtaskRunner
from vodflow.core.subtitles import SubtitleService
from vodflow.core.tasks import TaskQueries
from vodflow.core.templates import TemplateService
from vodflow.core.upload_signatures import UploadSignatureService
from vodflow.core.uploads import UploadService
from vodflow.core.watermark_templates import WatermarkTemplateService
from vodflow.notify.service import EventsService
from vodflow.ratelimit import RateLimiter
from vodflow.runtime.executor import Executor
from vodflow.runtime.jobs import JobTable
from vodflow.store.db import Database


class Background(Protocol):
    """A long-running part of the service (executor, push relay, sweepers)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    root_credential: Credential
    apps: AppService
    credentials: CredentialService
    limiter: RateLimiter
    events: EventsService
    templates: TemplateService
    watermarks: WatermarkTemplateService
    flows: FlowService
    library: LibraryService
    classes: ClassService
    uploads: UploadService
    upload_signatures: UploadSignatureService
    pulls: PullUploadService
    attributes: FileAttributesService
    edits: EditMediaService
    splits: SplitMediaService
    subtitles: SubtitleService
    runner: SubtaskRunner
    tasks: TaskQueries
    executor: Executor
    jobs: JobTable
    # Fault injection rules (test-only; empty and refusing unless settings.faults).
    faults: FaultBook
    # Started in this order, stopped in reverse.
    background: list[Background] = field(default_factory=list)

    async def run_job(self, kind: str, job_id: str) -> None:
        await self.jobs.run(kind, job_id)

    async def close(self) -> None:
        await self.db.close()
