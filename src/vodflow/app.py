"""Composition root: builds the store, blob store, services and the HTTP app.

Nothing else constructs services; tests build an app from a Settings object the
same way `vodflow serve` does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from vodflow.api import registry
from vodflow.api.cos import OBJECT_METHODS, object_endpoint, root_endpoint
from vodflow.api.files import serve_file
from vodflow.api.ratelimit import RateLimiter
from vodflow.api.server import healthz
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core import pull_upload as _pull_upload  # noqa: F401  (the "pull_upload" job)
from vodflow.core import subtasks as _subtasks  # noqa: F401  (registers the "subtask" job)
from vodflow.core.apps import AppService
from vodflow.core.credentials import Credential, CredentialService
from vodflow.core.flows import FlowService
from vodflow.core.library import LibraryService, LibrarySweeper
from vodflow.core.tasks import TaskQueries
from vodflow.core.templates import TemplateService
from vodflow.core.uploads import UploadService
from vodflow.credentials_file import load_root_credential
from vodflow.metrics import metrics_endpoint
from vodflow.notify.service import EventsService
from vodflow.runtime.executor import Executor
from vodflow.runtime.factory import make_executor
from vodflow.runtime.sweeper import Sweeper
from vodflow.store.db import Database
from vodflow.store.migrate import upgrade_async

log = logging.getLogger("vodflow")


class Background(Protocol):
    """A long-running part of the service (executor, push relay, sweeper)."""

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
    executor: Executor | None = None
    templates: TemplateService | None = None
    library: LibraryService | None = None
    uploads: UploadService | None = None
    flows: FlowService | None = None
    tasks: TaskQueries | None = None
    events: EventsService | None = None
    background: list[Background] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


async def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    await upgrade_async(url)
    db = Database(url)
    root = load_root_credential(settings)
    services = Services(
        settings=settings,
        db=db,
        blobs=BlobStore(settings.resolved_blob_dir),
        root_credential=root,
        apps=AppService(db, settings.app_id),
        credentials=CredentialService(db, root),
        limiter=RateLimiter(settings.rate_limit),
    )
    await services.apps.ensure_default()
    # Event delivery starts first (and stops last) so no committed event waits.
    services.events = EventsService(db, settings)
    services.background += [services.events, services.events.relay, services.events.sweeper]
    services.templates = TemplateService(db)
    services.library = LibraryService(services)
    services.uploads = UploadService(services)
    services.background.append(LibrarySweeper(services))
    executor = make_executor(services)
    services.executor = executor
    services.background.append(executor)
    services.flows = FlowService(services)
    services.tasks = TaskQueries(db)
    services.background.append(Sweeper(services))
    return services


def routes() -> list[BaseRoute]:
    return [
        # The API, and the COS multipart listing (`GET /?uploads`) of uploads.
        Route("/", root_endpoint, methods=["GET", "POST"]),
        Route("/upload/{key:path}", object_endpoint, methods=OBJECT_METHODS),
        Route("/vod/{key:path}", serve_file, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]


def create_app(settings: Settings) -> Starlette:
    registry.load_all()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        for part in services.background:
            await part.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            # Stop in reverse order: nothing new starts while older parts drain.
            for part in reversed(services.background):
                await part.stop()
            await services.db.close()

    return Starlette(routes=routes(), lifespan=lifespan)
