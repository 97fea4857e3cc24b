"""The web service: upload a video, transcode it through a task flow, learn the outcome.

    POST /videos              body: the video file  -> {"id", "status": "PROCESSING"}
    GET  /videos/{id}         -> the video's record
    POST /vod/callback        Tencent's PUSH of ProcedureStateChanged (signature checked)
    POST /vod/sync            read events by PULL (PullEvents, ConfirmEvents)
    POST /vod/reconcile       ask DescribeTaskDetail about videos still processing

A video is READY when its flow finished with every subtask successful, retried (a new
flow) after a failed one up to `max_attempts`, then FAILED. Events may come twice, out
of order, or late: handling is idempotent (an event of a task the video no longer
waits for changes nothing).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.transcode_app.vod import InvalidCallback, Vod, VodConfig, verify_callback


@dataclass
class Video:
    id: int
    file_id: str
    task_id: str
    status: str = "PROCESSING"  # PROCESSING, READY, FAILED
    attempts: int = 1
    outputs: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Store:
    """The app's state (a database in a real app): kept outside the web app, so a
    restarted web process (an outage) finds it again."""

    videos: dict[int, Video] = field(default_factory=dict)
    # Every change a callback caused, and the callbacks refused: what tests look at.
    transitions: list[tuple[int, str, str]] = field(default_factory=list)
    callbacks: list[tuple[str, str]] = field(default_factory=list)  # (TaskId, Status) accepted
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_task(self, task_id: str) -> Video | None:
        return next((v for v in self.videos.values() if v.task_id == task_id), None)


def failure_of(task: dict[str, Any]) -> str:
    """Why a finished flow failed ("" when every subtask succeeded)."""
    if task.get("ErrCode"):
        return f"{task.get('ErrCodeExt') or task['ErrCode']}: {task.get('Message', '')}"
    for result in task.get("MediaProcessResultSet") or []:
        sub = next((v for k, v in result.items() if k.endswith("Task") and v), None) or {}
        if sub.get("Status") == "FAIL" or sub.get("ErrCode"):
            return f"{result.get('Type')} {sub.get('ErrCodeExt') or sub.get('ErrCode')}: " + str(
                sub.get("Message", "")
            )
    return ""


def outputs_of(task: dict[str, Any]) -> list[str]:
    urls = []
    for result in task.get("MediaProcessResultSet") or []:
        output = (result.get("TranscodeTask") or {}).get("Output") or {}
        if output.get("Url"):
            urls.append(output["Url"])
    return urls


class VideoService:
    def __init__(self, vod: Vod, store: Store, max_attempts: int = 2) -> None:
        self.vod = vod
        self.store = store
        self.max_attempts = max_attempts

    def add(self, path: Path) -> Video:
        file_id = self.vod.upload(path)
        task_id = self.vod.start(file_id)
        with self.store.lock:
            video = Video(id=len(self.store.videos) + 1, file_id=file_id, task_id=task_id)
            self.store.videos[video.id] = video
        return video

    def on_task(self, task: dict[str, Any]) -> bool:
        """A ProcedureTask (from an event or DescribeTaskDetail); True if it changed a video."""
        if task.get("Status") != "FINISH":
            return False
        with self.store.lock:
            video = self.store.by_task(str(task.get("TaskId")))
            if video is None or video.status != "PROCESSING":
                return False  # a duplicate, a late event of an old attempt, or not ours
            error = failure_of(task)
            if not error:
                video.status, video.outputs = "READY", outputs_of(task)
            elif video.attempts < self.max_attempts:
                video.attempts += 1
                video.task_id = self.vod.start(video.file_id)
                video.status = "PROCESSING"
            else:
                video.status, video.error = "FAILED", error
            self.store.transitions.append((video.id, str(task["TaskId"]), video.status))
            return True

    def on_event(self, event: dict[str, Any]) -> bool:
        if event.get("EventType") != "ProcedureStateChanged":
            return False
        return self.on_task(event.get("ProcedureStateChangeEvent") or {})

    def sync(self) -> int:
        """Events by PULL: handle, then confirm (unconfirmed ones come back)."""
        events = self.vod.pull()
        changed = sum(self.on_event(e) for e in events)
        if events:
            self.vod.confirm([e["EventHandle"] for e in events])
        return changed

    def reconcile(self) -> int:
        """Catch up after missed callbacks: ask about every video still processing."""
        with self.store.lock:
            waiting = [v.task_id for v in self.store.videos.values() if v.status == "PROCESSING"]
        changed = 0
        for task_id in waiting:
            detail = self.vod.task(task_id)
            changed += self.on_task(detail.get("ProcedureTask") or {})
        return changed


def create_app(config: VodConfig, store: Store | None = None) -> Starlette:
    service = VideoService(Vod(config), store or Store())

    async def add_video(request: Request) -> Response:
        body = await request.body()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / request.headers.get("x-filename", "upload.mp4")
            path.write_bytes(body)
            video = await asyncio.to_thread(service.add, path)
        return JSONResponse(asdict(video), status_code=201)

    async def get_video(request: Request) -> Response:
        video = service.store.videos.get(int(request.path_params["id"]))
        if video is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(asdict(video))

    async def callback(request: Request) -> Response:
        try:
            event = verify_callback(await request.body(), config.sign_key)
        except InvalidCallback as exc:
            with service.store.lock:
                service.store.rejected += 1
            return JSONResponse({"error": str(exc)}, status_code=401)
        task = event.get("ProcedureStateChangeEvent") or {}
        with service.store.lock:
            service.store.callbacks.append((str(task.get("TaskId")), str(task.get("Status"))))
        await asyncio.to_thread(service.on_event, event)
        return Response(status_code=200)

    async def sync(request: Request) -> Response:
        return JSONResponse({"changed": await asyncio.to_thread(service.sync)})

    async def reconcile(request: Request) -> Response:
        return JSONResponse({"changed": await asyncio.to_thread(service.reconcile)})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Back from a restart (or an outage): learn what finished while we were away.
        await asyncio.to_thread(service.reconcile)
        yield

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/videos", add_video, methods=["POST"]),
            Route("/videos/{id:int}", get_video, methods=["GET"]),
            Route("/vod/callback", callback, methods=["POST"]),
            Route("/vod/sync", sync, methods=["POST"]),
            Route("/vod/reconcile", reconcile, methods=["POST"]),
        ],
    )
    app.state.service = service
    return app
