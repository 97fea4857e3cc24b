"""EditMedia: clip and join media of the library into a new media, as a task.

`start` checks the request against the library (every FileId, every offset
against the source's duration, the class, the procedure), records an
`EditMedia` task whose output is Tencent's whole EditMediaTask, and submits
the job. `run` makes the file with one FFmpeg run (media/ops/edit.py) and adds
it through `LibraryService.add_media`, whose transaction also finishes the
task, writes the EditMediaComplete event and, with a ProcedureName, starts the
task flow on the new media (its ProcedureStateChanged follows as for any flow).
"""

from __future__ import annotations

import logging
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
from vodflow.core.jobs import EDIT_MEDIA_JOB
from vodflow.core.library import MediaRecord, MediaRefused
from vodflow.core.task_options import FlowOptions
from vodflow.errors import VodError
from vodflow.media.errors import INTERNAL_ERROR, INVALID_INPUT, SOURCE_FILE_ERROR, MediaError
from vodflow.media.ops.edit import Clip, EditSpec, edit_media
from vodflow.owners import OWNER
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.timeutil import iso, now
from vodflow.wire.media_views import NEVER

log = logging.getLogger("vodflow.edit_media")

TASK_TYPE = "EditMedia"
EVENT_TYPE = "EditMediaComplete"
MAX_CLIPS = 100


@dataclass(frozen=True)
class EditRequest:
    """An EditMedia request in plain names (the API layer fills it)."""

    clips: list[tuple[str, float | None, float | None]]  # FileId, start, end
    base: str = "resolution"
    media_name: str | None = None
    class_id: int = 0
    expire_time: float | None = None
    codec: str = "libx264"
    bitrate_kbps: int = 0
    width: int = 0
    height: int = 0
    resolution_adaptive: bool = True
    fps: int = 0
    procedure: str | None = None


class EditMediaService(JobTaskService):
    task_type = TASK_TYPE

    async def start(self, app_id: int, req: EditRequest, options: FlowOptions) -> str:
        if not req.clips:
            raise VodError("MissingParameter", "FileInfos is required when InputType is File.")
        file_infos = []
        first_name = ""
        for n, (file_id, start, end) in enumerate(req.clips):
            media = await self.library.get(app_id, file_id)
            if media is None or not media["path"]:
                raise VodError(
                    "InvalidParameterValue.FileId",
                    f"FileInfos[{n}]: the media `{file_id[:32]}` does not exist"
                    + (" (its original was deleted)." if media is not None else "."),
                )
            meta = media["meta"]
            if not meta.get("VideoStreamSet") or media["type"] in ("png", "jpg", "jpeg", "gif"):
                raise VodError(
                    "InvalidParameterValue.FileId", f"FileInfos[{n}]: `{file_id}` is not a video."
                )
            duration = float(meta.get("VideoDuration") or meta.get("Duration") or 0)
            begin = start or 0.0
            if begin < 0 or begin >= duration:
                raise VodError(
                    "InvalidParameterValue.StartTimeOffset",
                    f"FileInfos[{n}].StartTimeOffset {begin:g} is outside the media "
                    f"(0-{duration:g} s).",
                )
            if end is not None and end <= begin:
                raise VodError(
                    "InvalidParameterValue.EndTimeOffset",
                    f"FileInfos[{n}].EndTimeOffset must be after StartTimeOffset.",
                )
            info: dict[str, Any] = {"FileId": file_id, "StartTimeOffset": begin}
            # Past the end stops at the end, as Tencent clips.
            info["EndTimeOffset"] = duration if end is None else min(end, duration)
            file_infos.append(info)
            first_name = first_name or str(media["name"])
        await self.library.check_procedure(app_id, req.procedure)
        await self.library.check_class(app_id, req.class_id)

        t = now()
        task_id = ids.task_id(app_id, TASK_TYPE)
        task_input = {"InputType": "File", "FileInfoSet": file_infos}
        output = {
            "TaskId": task_id,
            "Status": "PROCESSING",
            "ErrCode": 0,
            "ErrCodeExt": "",
            "Message": "",
            "Progress": 0,
            "Input": task_input,
            "ProcedureTaskId": "",
            "ReviewAudioVideoTaskId": "",
            "SessionId": options.session_id,
            "SessionContext": options.session_context,
        }
        spec = {
            "Base": req.base,
            "MediaName": (req.media_name or f"{first_name}_edit")[:64],
            "ClassId": req.class_id,
            "ExpireTime": req.expire_time,
            "Codec": req.codec,
            "Bitrate": req.bitrate_kbps,
            "Width": req.width,
            "Height": req.height,
            "ResolutionAdaptive": req.resolution_adaptive,
            "Fps": req.fps,
            "Procedure": req.procedure or "",
        }
        return await record_job_task(
            self.db,
            self.queue,
            job_kind=EDIT_MEDIA_JOB,
            task_type=TASK_TYPE,
            task_id=task_id,
            app_id=app_id,
            options=options,
            task_input=task_input | {"Spec": spec},
            output=output,
            t=t,
        )

    async def run(self, task_id: str) -> None:
        """The EDIT_MEDIA_JOB: make the file, add it, finish the task (leased)."""
        await self.run_leased(
            task_id,
            self._run,
            lambda task: self._fail(task, INTERNAL_ERROR, INTERRUPTED),
        )

    async def _run(self, task: dict[str, Any], out_dir: Path) -> None:
        task_id = task["task_id"]
        try:
            record = await self._make(task, out_dir)
            log.info("edited %s as %s", task_id, record.file_id)
        except LeaseLost:
            log.info("EditMedia %s is no longer ours: its media is not added", task_id)
        except MediaError as exc:
            await self._fail(task, exc.code, exc.message)
        except MediaRefused as exc:
            await self._fail(task, exc.source_code, exc.message)
        except VodError as exc:
            await self._fail(task, INVALID_INPUT, f"{exc.code}: {exc.message}")
        except Exception:
            log.exception("EditMedia %s failed", task_id)
            await self._fail(task, "InternalError", "Internal error while editing.")

    async def _make(self, task: dict[str, Any], out_dir: Path) -> MediaRecord:
        app_id = task["app_id"]
        spec = task["input"]["Spec"]
        clips = []
        for info in task["input"]["FileInfoSet"]:
            media = await self.library.get(app_id, info["FileId"])
            if media is None or not media["path"]:
                raise MediaError(SOURCE_FILE_ERROR, f"the media {info['FileId']} is gone")
            clips.append(Clip(media["path"], info["StartTimeOffset"], info["EndTimeOffset"]))
        made = await edit_media(
            clips,
            EditSpec(
                base=spec["Base"],
                codec=spec["Codec"],
                bitrate_kbps=spec["Bitrate"],
                width=spec["Width"],
                height=spec["Height"],
                resolution_adaptive=spec["ResolutionAdaptive"],
                fps=spec["Fps"],
            ),
            out_dir,
        )

        async def finish_in(conn: Any, record: MediaRecord) -> None:
            expire = record.row.get("expire_time")
            output = dict(task["output"] or {}) | {
                "Status": "FINISH",
                "Message": "SUCCESS",
                "Progress": 100,
                "Output": {
                    "FileType": "mp4",
                    "FileUrl": record.media_url,
                    "FileId": record.file_id,
                    "MediaName": spec["MediaName"],
                    "ClassId": spec["ClassId"],
                    "ExpireTime": iso(expire) if expire else NEVER,
                },
                "MetaData": record.meta,
                "ProcedureTaskId": record.procedure_task_id or "",
            }
            if not await tasks_q.finish_job(
                conn,
                task["task_id"],
                OWNER,
                status=TaskStatus.FINISH,
                file_id=record.file_id,
                message="SUCCESS",
                output=output,
                finish_time=now(),
            ):
                raise LeaseLost  # rolls the new media back: another run ends the task
            app_row = await apps_q.get(conn, app_id)
            assert app_row is not None
            await events.emit(conn, app_row, EVENT_TYPE, output)

        return await self.library.add_media(
            app_id,
            made.path,
            name=spec["MediaName"],
            media_type="mp4",
            class_id=spec["ClassId"],
            expire_time=spec["ExpireTime"],
            source_info={"SourceType": "VideoProcessing", "SourceContext": ""},
            procedure=spec["Procedure"] or None,
            flow_options=FlowOptions.of(
                priority=task["priority"], session_context=task["session_context"]
            ),
            conn_hook=finish_in,
        )

    async def _fail(self, task: dict[str, Any], code_ext: str, message: str) -> None:
        output = dict(task["output"] or {})
        await fail_job_task(self.db, task, output, EVENT_TYPE, code_ext, message)
