"""Task flows: starting them, aborting them, and the events their state changes cause.

A flow is one `tasks` row (type Procedure) and one `subtasks` row per item of its
MediaProcessTask. `start_in` writes them inside the caller's transaction (so an
upload and the flow it starts commit together); `dispatch` tells the executor
after commit. The database is the truth: whatever the executor loses, the
sweeper finds again (runtime/sweeper.py); how one subtask runs is core/subtasks.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from vodflow import ids
from vodflow.config import Settings
from vodflow.core import events, kinds
from vodflow.core.blobkeys import url_for
from vodflow.core.jobs import SUBTASK_JOB, JobQueue
from vodflow.core.task_options import FlowOptions, claim_session
from vodflow.core.templates import TemplateService
from vodflow.errors import VodError
from vodflow.status import TASK_LIVE, SubtaskStatus, TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import media as media_q
from vodflow.store import subtitles as subtitles_q
from vodflow.store import tasks as q
from vodflow.store.db import Database, Writer
from vodflow.timeutil import now
from vodflow.wire.task_views import procedure_task
from vodflow.wire.tasks import MediaProcessTaskInput

__all__ = ["FlowOptions", "FlowService", "StartedFlow", "expand"]


@dataclass
class StartedFlow:
    task_id: str
    # (subtask id, priority) to hand to the executor after commit.
    jobs: list[tuple[int, int]] = field(default_factory=list)


def _one_output_per_definition(items: list[tuple[str, dict[str, Any]]]) -> None:
    """Refuse two different asks of one Definition in one task set.

    A media keeps one output per (kind, Definition) (DescribeMediaInfos lists them
    so, and they share their output names), so two different asks (another clip
    window, other offsets) would overwrite each other while both report SUCCESS.
    Identical repeats are fine: they are one output, shared. Transcode tasks with
    different OverrideParameters are different renditions (own output names).
    """
    seen: dict[tuple[str, Any, str], dict[str, Any]] = {}
    for result_type, item in items:
        # An OverrideParameter makes another rendition with outputs of its own.
        override = item.get("OverrideParameter")
        key = (result_type, item.get("Definition"), json.dumps(override, sort_keys=True))
        if key in seen and seen[key] != item:
            raise VodError(
                "InvalidParameterValue",
                f"{result_type} Definition {item.get('Definition')} is asked twice with "
                "different parameters in one MediaProcessTask; a media keeps one output per "
                "Definition, so split them into separate tasks.",
            )
        seen.setdefault(key, item)


def expand(mpt: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(MediaProcessTaskResult.Type, input) per subtask, in Tencent's set order."""
    try:
        model = MediaProcessTaskInput.model_validate(dict(mpt or {}))
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise VodError("InvalidParameterValue", f"`MediaProcessTask.{where}` is invalid.") from None
    items: list[tuple[str, dict[str, Any]]] = []
    for k in kinds.KINDS:
        for item in getattr(model, k.task_set) or []:
            items.append((k.name, item.dump()))
    kinds.check_task_count(len(items))
    _one_output_per_definition(items)
    return items


async def _check_subtitles(conn: Writer, file_id: str, mpt: Mapping[str, Any]) -> None:
    """Refuse subtitle ids the media does not have (ProcessMedia and
    ProcessMediaByProcedure; a procedure run on upload is checked when its subtask runs)."""
    asked = mpt.get("AdaptiveDynamicStreamingTaskSet") or []
    if not any(task.get("SubtitleSet") for task in asked):
        return  # (no read: most flows carry no subtitles)
    have = {r["subtitle_id"] for r in await subtitles_q.of_media(conn, file_id)}
    for i, task in enumerate(asked):
        for sid in task.get("SubtitleSet") or []:
            if sid not in have:
                raise VodError(
                    "InvalidParameterValue",
                    f"MediaProcessTask.AdaptiveDynamicStreamingTaskSet.{i}.SubtitleSet: "
                    f"the media has no subtitle `{sid}`.",
                )


class FlowService:
    def __init__(
        self, db: Database, settings: Settings, queue: JobQueue, templates: TemplateService
    ) -> None:
        self.db = db
        self.settings = settings
        self.queue = queue
        self.templates = templates

    @property
    def public_url(self) -> str:
        return self.settings.resolved_public_url

    async def start_in(
        self,
        conn: Writer,
        app_row: Mapping[str, Any],
        file_id: str,
        media_process_task: Mapping[str, Any],
        options: FlowOptions,
        items: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> StartedFlow:
        """Create the flow (task, subtasks, SessionId claim) in the caller's transaction.

        `options` come checked (FlowOptions.of); `items`: `expand(media_process_task)`,
        if the caller has it already.
        """
        if items is None:
            items = expand(media_process_task)
        app_id = int(app_row["id"])
        media = await media_q.get(conn, app_id, file_id)
        if media is None:
            raise VodError("ResourceNotFound.FileNotExist", f"The file `{file_id}` does not exist.")
        t = now()
        task_id = ids.task_id(app_id)  # the application's id, as Tencent's TaskIds carry
        await claim_session(conn, app_id, options.session_id, task_id, t)
        await q.add_task(
            conn,
            task_id=task_id,
            app_id=app_id,
            type="Procedure",
            status=TaskStatus.WAITING,
            file_id=file_id,
            **options.columns(),
            err_code=0,
            err_code_ext="",
            message="",
            input={
                "MediaProcessTask": dict(media_process_task),
                # A snapshot: the event describes the source as it was processed.
                "FileName": media["name"],
                "FileUrl": url_for(self.public_url, media["blob_key"]),
                "MetaData": media.get("meta") or {},
            },
            create_time=t,
        )
        rows = [
            {
                "task_id": task_id,
                "seq": seq,
                "type": result_type,
                "input": item,
                "status": SubtaskStatus.WAITING,
                "priority": options.priority,
                "create_time": t,
                # Its message is sent right after this transaction commits.
                "enqueued_at": t,
            }
            for seq, (result_type, item) in enumerate(items)
        ]
        subtask_ids = await q.add_subtasks(conn, rows)
        return StartedFlow(task_id, [(sid, options.priority) for sid in subtask_ids])

    async def dispatch(self, started: StartedFlow) -> None:
        for subtask_id, priority in started.jobs:
            await self.queue.submit(SUBTASK_JOB, str(subtask_id), priority)

    async def start(
        self,
        app_id: int,
        file_id: str,
        media_process_task: Mapping[str, Any],
        options: FlowOptions,
    ) -> str:
        """ProcessMedia: check definitions, create the flow, hand it to the executor."""
        items = expand(media_process_task)
        await self.templates.check_media_process_task(app_id, dict(media_process_task))
        async with self.db.tx_inline() as conn:  # a few indexed rows
            app_row = await apps_q.get(conn, app_id)
            if app_row is None:
                raise VodError("InvalidParameterValue.SubAppId", f"Unknown app `{app_id}`.")
            started = await self.start_in(
                conn, app_row, file_id, media_process_task, options, items
            )
            await _check_subtitles(conn, file_id, media_process_task)
        await self.dispatch(started)
        return started.task_id

    async def abort(self, app_id: int, task_id: str) -> None:
        """ManageTask Abort: the flow ends ABORTED; running jobs notice at their next beat."""
        async with self.db.tx() as conn:
            task = await q.get_task(conn, app_id, task_id)
            if task is None or task["type"] != "Procedure":
                raise VodError(
                    "InvalidParameterValue.TaskId", f"The task `{task_id[:128]}` does not exist."
                )
            t = now()
            changed = await q.set_task_status(
                conn, task_id, TASK_LIVE, status=TaskStatus.ABORTED, finish_time=t
            )
            if not changed:
                raise VodError(
                    "FailedOperation",
                    f"The task is {task['status']}: only WAITING or PROCESSING tasks can be "
                    "aborted.",
                )
            await q.abort_subtasks(conn, task_id, t)
            await self.emit_state(conn, task_id, final=True)

    async def emit_state(
        self,
        conn: Writer,
        task_id: str,
        *,
        final: bool,
        task: Mapping[str, Any] | None = None,
    ) -> None:
        """ProcedureStateChanged with the whole ProcedureTask, as TasksNotifyMode asks.

        Finish: only when the flow ends (`final`); Change: on every call (each
        subtask state change, and the end); None: never. `task`: the flow's row as
        the caller already holds it, so that no read is spent when its mode (which
        never changes) wants no event now.
        """
        if task is not None and _silent(task["notify_mode"], final):
            return
        # The rows just read, in this transaction (one statement): the ProcedureTask of
        # this state, and where its application wants its events.
        found = await q.flow_state_rows(conn, task_id)
        if found is None:
            return
        row, subtask_rows, app_row = found
        if not _silent(row["notify_mode"], final):
            payload = procedure_task(row, subtask_rows)
            await events.emit(conn, app_row, "ProcedureStateChanged", payload)


def _silent(mode: str, final: bool) -> bool:
    return mode == "None" or (mode == "Finish" and not final)
