"""Helpers shared by the task-flow tests: media rows without the upload API, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.servers import ServerProcess
from vodflow.app import build_services
from vodflow.config import Settings


def server_settings(server: ServerProcess) -> Settings:
    return server.settings()


def add_media(
    server: ServerProcess, path: Path, name: str = "clip", app_id: int | None = None
) -> str:
    """Put a file into a running server's library (same database and blob store)."""

    async def go() -> str:
        settings = server_settings(server)
        services = await build_services(settings)
        try:
            media_type = path.suffix.lstrip(".") or "mp4"
            record = await services.library.add_media(
                app_id or settings.app_id, path, name=name, media_type=media_type, copy=True
            )
            return record.file_id
        finally:
            await services.db.close()

    return asyncio.run(go())


def wait_until(
    fetch: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 300.0,
    every: float = 0.3,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value: {value}")
        time.sleep(every)


def wait_task(
    server: ServerProcess, task_id: str, timeout: float = 300.0, every: float = 0.3
) -> dict[str, Any]:
    """DescribeTaskDetail until the flow ends (FINISH or ABORTED)."""
    return wait_until(
        lambda: server.call("DescribeTaskDetail", {"TaskId": task_id}),
        lambda d: d["Status"] in ("FINISH", "ABORTED"),
        timeout,
        every,
    )
