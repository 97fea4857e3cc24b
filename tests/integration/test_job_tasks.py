"""One-job tasks (EditMedia, SplitMedia, DescribeFileAttributes): recorded once, claimed once,
failed with the error and the event in one transaction."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.core.job_tasks import claim_job_task, fail_job_task, record_job_task
from vodflow.core.task_options import FlowOptions
from vodflow.store import tasks as tasks_q
from vodflow.store.schema import events
from vodflow.timeutil import now


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        self.sent.append((kind, job_id, priority))


async def test_record_claim_once_and_fail_with_the_event(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    services = await build_services(settings)  # background parts not started
    try:
        await services.events.modify_config(settings.app_id, mode="PULL")
        queue = Queue()
        options = FlowOptions.of(priority=3, session_context="ctx")
        output = {"TaskId": "t-split-1", "Status": "WAITING", "SessionContext": "ctx"}
        await record_job_task(
            services.db,
            queue,
            job_kind="split_media",
            task_type="SplitMedia",
            task_id="t-split-1",
            app_id=settings.app_id,
            options=options,
            task_input={"FileId": "f"},
            output=output,
            t=now(),
            file_id="f",
        )
        assert queue.sent == [("split_media", "t-split-1", 3)]

        task = await claim_job_task(services.db, "t-split-1", "SplitMedia", 60.0)
        assert task is not None and task["session_context"] == "ctx"
        # A duplicate delivery (its lease holds), or a job of another type, does not claim it.
        assert await claim_job_task(services.db, "t-split-1", "SplitMedia", 60.0) is None
        assert await claim_job_task(services.db, "t-split-1", "EditMedia", 60.0) is None

        await fail_job_task(
            services.db, task, dict(output), "SplitMediaComplete", "SourceFileError", "gone"
        )
        async with services.db.read() as conn:
            row = await tasks_q.get_task_any(conn, "t-split-1")
            bodies = [json.loads(r.body) for r in await conn.execute(select(events.c.body))]
        assert row is not None
        assert (row["status"], row["err_code"], row["err_code_ext"]) == (
            "FINISH",
            60000,
            "SourceFileError",
        )
        assert row["output"]["Status"] == "FINISH" and row["output"]["Progress"] == 100
        (event,) = [b for b in bodies if b["EventType"] == "SplitMediaComplete"]
        assert event["SplitMediaCompleteEvent"]["ErrCode"] == 60000
        assert event["SplitMediaCompleteEvent"]["Message"] == "gone"
    finally:
        await services.db.close()
