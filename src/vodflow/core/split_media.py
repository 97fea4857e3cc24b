"""SplitMedia: cut segments of one media, each a new media, as one task.

`start` resolves every segment's offsets against the source's duration
(Tencent's rules: a negative offset counts from the end; no end, or 0, is the
end), checks classes and procedures, and records a `SplitMedia` task whose
output is Tencent's whole SplitMediaTask. `run` cuts the segments in order
with the EditMedia op (frame-exact, one FFmpeg run each) and adds each through
`LibraryService.add_media` (its procedure, if any, starts in that
transaction). The last segment's transaction finishes the task and writes the
SplitMediaComplete event; if a segment fails, the task finishes with its error
and the segments already made stay in the library, listed with their Output.

The run is leased (core/job_tasks.py): each segment's transaction is conditional
on the lease, and a run that takes over after a crash skips the segments whose
Output an earlier run recorded, so no segment is added twice.
"""

from __future__ import annotations

import copy
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vodflow import ids
from vodflow.core import events
from vodflow.core.job_tasks import (
    INTERRUPTED,
    JobTaskService,
    LeaseLost,
    fail_job_task,
    record_job_task,
)
from vodflow.core.jobs import SPLIT_MEDIA_JOB
from vodflow.core.library import MediaRecord, MediaRefused
from vodflow.core.task_options import FlowOptions
from vodflow.errors import VodError
from vodflow.media.errors import INTERNAL_ERROR, INVALID_INPUT, SOURCE_FILE_ERROR, MediaError
from vodflow.media.ops.edit import Clip, EditSpec, edit_media
from vodflow.owners import OWNER
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.timeutil import now

log = logging.getLogger("vodflow.split_media")

TASK_TYPE = "SplitMedia"
EVENT_TYPE = "SplitMediaComplete"


@dataclass(frozen=True)
class Segment:
    start: float | None = None
    end: float | None = None
    procedure: str | None = None
    media_name: str | None = None
    class_id: int = 0
    expire_time: float | None = None
    # The OutputConfig as given, echoed in the task's Input.
    output_config: dict[str, Any] | None = None


class SplitMediaService(JobTaskService):
    task_type = TASK_TYPE

    async def start(
        self, app_id: int, file_id: str, segments: list[Segment], options: FlowOptions
    ) -> str:
        if not segments:
            raise VodError("MissingParameter", "Segments must hold at least one segment.")
        media = await self.library.get(app_id, file_id)
        if media is None or not media["path"]:
            raise VodError(
                "InvalidParameterValue.FileId", f"The media `{file_id[:32]}` does not exist."
            )
        meta = media["meta"]
        if not meta.get("VideoStreamSet") or media["type"] in ("png", "jpg", "jpeg", "gif"):
            raise VodError("InvalidParameterValue.FileId", f"`{file_id}` is not a video.")
        duration = float(meta.get("VideoDuration") or meta.get("Duration") or 0)
        infos = []
        for n, seg in enumerate(segments):
            begin, end = resolve(seg.start, seg.end, duration, n)
            await self.library.check_procedure(app_id, seg.procedure)
            await self.library.check_class(app_id, seg.class_id)
            given: dict[str, Any] = {
                "FileId": file_id,
                "StartTimeOffset": seg.start or 0.0,
                "EndTimeOffset": seg.end or 0.0,
                "ProcedureName": seg.procedure or "",
            }
            if seg.output_config:
                given["OutputConfig"] = seg.output_config
            infos.append(
                {
                    "Input": given,
                    "ProcedureTaskId": "",
                    "ReviewAudioVideoTaskId": "",
                    # Not shown: where the cut really is, and what to make.
                    "_cut": {
                        "start": begin,
                        "end": end,
                        "name": (seg.media_name or f"{media['name']}_{n + 1}")[:64],
                        "class_id": seg.class_id,
                        "expire_time": seg.expire_time,
                        "procedure": seg.procedure or "",
                    },
                }
            )
        t = now()
        task_id = ids.task_id(app_id, TASK_TYPE)
        output = {
            "TaskId": task_id,
            "Status": "PROCESSING",
            "ErrCodeExt": "",
            "ErrCode": 0,
            "Message": "",
            "FileInfoSet": [{k: v for k, v in i.items() if k != "_cut"} for i in infos],
            "SessionContext": options.session_context,
            "SessionId": options.session_id,
            "Progress": 0,
        }
        return await record_job_task(
            self.db,
            self.queue,
            job_kind=SPLIT_MEDIA_JOB,
            task_type=TASK_TYPE,
            task_id=task_id,
            app_id=app_id,
            options=options,
            task_input={"FileId": file_id, "Cuts": [i["_cut"] for i in infos]},
            output=output,
            t=t,
            file_id=file_id,
        )

    async def run(self, task_id: str) -> None:
        """The SPLIT_MEDIA_JOB: cut and add each segment, then finish the task (leased)."""
        await self.run_leased(
            task_id,
            self._run,
            lambda task: self._fail(task, dict(task["output"] or {}), INTERNAL_ERROR, INTERRUPTED),
        )

    async def _run(self, task: dict[str, Any], work: Path) -> None:
        task_id = task["task_id"]
        output = dict(task["output"] or {})
        cuts = task["input"]["Cuts"]
        try:
            for n, cut in enumerate(cuts):
                if output["FileInfoSet"][n].get("Output"):
                    continue  # added by an earlier run of this task (before a crash)
                await self._segment(task, output, n, cut, work, last=n == len(cuts) - 1)
        except LeaseLost:
            log.info("SplitMedia %s is no longer ours: stopping", task_id)
        except MediaError as exc:
            await self._fail(task, output, exc.code, exc.message)
        except MediaRefused as exc:
            await self._fail(task, output, exc.source_code, exc.message)
        except VodError as exc:
            await self._fail(task, output, INVALID_INPUT, f"{exc.code}: {exc.message}")
        except Exception:
            log.exception("SplitMedia %s failed", task_id)
            await self._fail(task, output, "InternalError", "Internal error while splitting.")

    async def _segment(
        self,
        task: dict[str, Any],
        output: dict[str, Any],
        n: int,
        cut: dict[str, Any],
        work: Path,
        last: bool,
    ) -> None:
        app_id = task["app_id"]
        media = await self.library.get(app_id, task["file_id"])
        if media is None or not media["path"]:
            raise MediaError(SOURCE_FILE_ERROR, "the source media is gone")
        out_dir = work / f"segment-{n}"
        try:
            made = await edit_media(
                [Clip(media["path"], cut["start"], cut["end"])], EditSpec(), out_dir
            )

            # The task's output as this segment's transaction writes it; `output`
            # takes it only once that transaction has committed.
            updated = copy.deepcopy(output)

            async def record_in(conn: Any, record: MediaRecord) -> None:
                info = updated["FileInfoSet"][n]
                info["Output"] = {"FileId": record.file_id, "MediaBasicInfo": record.basic_info}
                info["ProcedureTaskId"] = record.procedure_task_id or ""
                updated["Progress"] = int(100 * (n + 1) / len(updated["FileInfoSet"]))
                values: dict[str, Any] = {"output": updated}
                if last:
                    updated.update(Status="FINISH", Message="SUCCESS")
                    values.update(status=TaskStatus.FINISH, message="SUCCESS", finish_time=now())
                if last:
                    values.update(lease_owner=None, lease_until=None)
                if not await tasks_q.update_held_job(conn, task["task_id"], OWNER, **values):
                    raise LeaseLost  # rolls this segment's media back
                if last:
                    app_row = await apps_q.get(conn, app_id)
                    assert app_row is not None
                    await events.emit(conn, app_row, EVENT_TYPE, updated)

            await self.library.add_media(
                app_id,
                made.path,
                name=cut["name"],
                media_type="mp4",
                class_id=cut["class_id"],
                expire_time=cut["expire_time"],
                source_info={"SourceType": "VideoProcessing", "SourceContext": ""},
                procedure=cut["procedure"] or None,
                flow_options=FlowOptions.of(
                    priority=task["priority"], session_context=task["session_context"]
                ),
                conn_hook=record_in,
            )
            output.clear()
            output.update(updated)
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    async def _fail(
        self, task: dict[str, Any], output: dict[str, Any], code_ext: str, message: str
    ) -> None:
        await fail_job_task(self.db, task, output, EVENT_TYPE, code_ext, message)


def resolve(start: float | None, end: float | None, duration: float, n: int) -> tuple[float, float]:
    """Tencent's offsets -> seconds of the source: negative counts from the end,
    no end (or 0) is the end. Refuses a start outside the media or an empty cut."""
    begin = start or 0.0
    if begin < 0:
        begin += duration
    stop = end or 0.0
    stop = duration if stop == 0 else (stop + duration if stop < 0 else min(stop, duration))
    if not 0 <= begin < duration:
        raise VodError(
            "InvalidParameterValue.StartTimeOffset",
            f"Segments[{n}].StartTimeOffset is outside the media (0-{duration:g} s).",
        )
    if stop <= begin:
        raise VodError(
            "InvalidParameterValue.EndTimeOffset",
            f"Segments[{n}].EndTimeOffset must be after StartTimeOffset.",
        )
    return begin, stop
