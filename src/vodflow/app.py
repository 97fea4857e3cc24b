"""Composition root: builds the store, blob store, services and the HTTP app.

Nothing else constructs services; tests build an app from a Settings object the
same way `vodflow serve` does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from vodflow.api import registry
from vodflow.api.cors import CorsMiddleware
from vodflow.api.cos import OBJECT_METHODS, bucket_object_endpoint, object_endpoint, root_endpoint
from vodflow.api.files import serve_file
from vodflow.api.server import API_METHODS, api_asgi, healthz
from vodflow.api.ugc import ugc_endpoint
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.console.routes import console_routes
from vodflow.core.apps import AppService
from vodflow.core.classes import ClassService
from vodflow.core.credentials import CredentialService
from vodflow.core.edit_media import EditMediaService
from vodflow.core.expiry import LibrarySweeper
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
from vodflow.credentials_file import load_root_credential
from vodflow.fsmodes import private_dir
from vodflow.metrics import metrics_endpoint
from vodflow.notify.service import EventsService
from vodflow.ratelimit import RateLimiter
from vodflow.runtime.factory import make_executor
from vodflow.runtime.jobs import JobTable
from vodflow.runtime.sweeper import Sweeper
from vodflow.services import Background, Services
from vodflow.store.db import Database
from vodflow.store.migrate import upgrade_async

__all__ = ["Background", "Services", "build_services", "create_app"]

log = logging.getLogger("vodflow")


async def build_services(settings: Settings) -> Services:
    """Every service of one process, each given only what it uses."""
    private_dir(settings.data_dir)
    if settings.test_cheap_media:
        log.warning(
            "VODFLOW_TEST_CHEAP_MEDIA is on: TEST ONLY. Video outputs are written tiny "
            "(at most 64 px, a few frames a second) while results report the template's "
            "shape. Never run a production deployment with it."
        )
    url = settings.resolved_database_url
    await upgrade_async(url)
    db = Database(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    blobs = BlobStore(settings.resolved_blob_dir)
    root = load_root_credential(settings)
    apps = AppService(db, settings.app_id)
    await apps.ensure_default()
    credentials = CredentialService(db, root)
    faults = FaultBook(db, settings.faults)
    events = EventsService(db, settings, apps, faults)
    # Work submitted before the table is bound waits in the queue: the table
    # needs the services below, which need the queue.
    jobs = JobTable()
    executor = make_executor(settings, jobs.run)
    templates = TemplateService(db)
    flows = FlowService(db, settings, executor, templates)
    library = LibraryService(db, blobs, settings, flows, templates)
    uploads = UploadService(db, blobs, settings, library, credentials, apps, faults)
    pulls = PullUploadService(db, blobs, settings, library, executor, faults)
    runner = SubtaskRunner(db, blobs, settings, flows, library, templates, faults)
    attributes = FileAttributesService(db, blobs, library, executor, settings.lease_s)
    edits = EditMediaService(db, blobs, library, executor, settings.lease_s)
    splits = SplitMediaService(db, blobs, library, executor, settings.lease_s)
    jobs.bind(runner, pulls, attributes, edits, splits)
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        root_credential=root,
        apps=apps,
        credentials=credentials,
        limiter=RateLimiter(settings.rate_limit),
        events=events,
        templates=templates,
        watermarks=WatermarkTemplateService(templates, blobs, settings.resolved_public_url),
        flows=flows,
        library=library,
        classes=ClassService(db),
        uploads=uploads,
        upload_signatures=UploadSignatureService(db, credentials, apps),
        pulls=pulls,
        attributes=attributes,
        edits=edits,
        splits=splits,
        subtitles=SubtitleService(db, blobs, settings, templates),
        runner=runner,
        tasks=TaskQueries(db),
        executor=executor,
        jobs=jobs,
        faults=faults,
        # Event delivery starts first (and stops last) so no committed event waits.
        background=[
            events,
            events.relay,
            events.sweeper,
            LibrarySweeper(library, uploads),
            executor,
            Sweeper(
                db,
                blobs,
                executor,
                settings.lease_s,
                requeue_after_s=settings.requeue_after_s,
                volatile_queue=settings.executor.strip().lower() == "local",
            ),
        ],
    )


def routes() -> list[BaseRoute]:
    return [
        # The API, and the COS multipart listing (`GET /?uploads`) of uploads.
        # Every method: those the API does not take answer its envelope (UnsupportedProtocol).
        Route("/", root_endpoint, methods=API_METHODS),
        Route("/upload/{key:path}", object_endpoint, methods=OBJECT_METHODS),
        Route("/vod/{key:path}", serve_file, methods=["GET", "HEAD"]),
        # Client uploads: the UGC upload API, and S3 path-style object addressing.
        Route("/v3/index.php", ugc_endpoint, methods=["POST"]),
        Route("/{bucket}/upload/{key:path}", bucket_object_endpoint, methods=OBJECT_METHODS),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *console_routes(),
    ]


class VodflowApp(Starlette):
    """Starlette, with `POST /` (every SDK call) handed straight to the API: its routing,
    middleware and Request/Response objects cost more than a cheap action does. The
    API answers every failure itself, and CORS does not apply to it (api/cors.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            await api_asgi(self.state, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


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

    return VodflowApp(routes=routes(), lifespan=lifespan, middleware=[Middleware(CorsMiddleware)])
