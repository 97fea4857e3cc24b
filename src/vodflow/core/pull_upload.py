"""PullUpload: fetch a media file from a URL as a task, then add it to the library.

The fetch treats the URL as hostile: http(s) only, every redirect hop checked,
every address the host name resolves to must be public unless the operator
allowed private URLs (vodflow.net_policy), and the connection goes to the
address that was checked (no second DNS lookup to rebind), a byte limit, a
per-read timeout and an overall deadline. The task row (type PullUpload)
carries the complete PullUploadTask dict as its output; the PullComplete event
is written in the transaction that finishes the task (and, on success, adds
the media).

A pull is leased like every one-job task (core/job_tasks.py): the fetcher holds the task row
(`lease_owner`, `lease_until`) and renews it while it downloads. A clean shutdown
gives it back (WAITING); a kill -9 leaves a lease that expires (or, on the same
host, an owner that is gone): the sweeper sends the job again and the pull starts
over. ManageTask aborts a pull that is WAITING or PROCESSING: its fetcher notices
at its next renewal and stops; nothing it fetched is added.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx

from vodflow import ids, net_policy
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core import events, faults
from vodflow.core.fault_kinds import PULL_UPLOAD_FAIL
from vodflow.core.faults import FaultBook, upload_error
from vodflow.core.job_tasks import INTERRUPTED, LeaseLost, run_job_task
from vodflow.core.jobs import PULL_UPLOAD_JOB, JobQueue
from vodflow.core.leases import stop
from vodflow.core.library import LibraryService, MediaRecord, MediaRefused
from vodflow.core.media_info import normalise_media_type
from vodflow.core.task_options import FlowOptions, claim_session
from vodflow.core.uploads import parse_expire_time
from vodflow.errors import VodError
from vodflow.owners import OWNER
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.pull")

MAX_REDIRECTS = 5
READ_TIMEOUT_S = 30.0
DEADLINE_S = 3600.0
COVER_MAX_BYTES = 10 * 1024 * 1024
# Tencent's PullUploadTask ErrCode classes.
ERR_INPUT = 40000
ERR_SOURCE = 60000
ERR_INTERNAL = 70000
RATE_CHECK_S = 1.0
ABORTED_MESSAGE = "The task was aborted by ManageTask."


class FetchError(Exception):
    def __init__(self, err_code: int, message: str) -> None:
        super().__init__(message)
        self.err_code = err_code
        self.message = message


def media_type_from_url(url: str) -> str | None:
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lstrip(".")
    return suffix.lower() or None


def name_from_url(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).stem[:64]


def check_url_shape(url: str, field: str = "MediaUrl") -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        code = (
            "InvalidParameterValue.CoverUrl"
            if field == "CoverUrl"
            else "InvalidParameterValue.MediaUrl"
        )
        raise VodError(code, f"{field} must be an http or https URL.")


class PullUploadService:
    """PullUpload tasks: recorded by `start`, fetched and added by `run` (a job)."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        library: LibraryService,
        queue: JobQueue,
        faults: FaultBook,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.library = library
        self.queue = queue
        self.faults = faults

    async def start(self, app_id: int, req: Any) -> str:
        """Validate a PullUpload request, record its task, submit the fetch; its TaskId."""
        if self.faults.enabled:
            await upload_error(self.faults, PULL_UPLOAD_FAIL, app_id, {"Action": "PullUpload"})
        check_url_shape(req.MediaUrl)
        if req.CoverUrl:
            check_url_shape(req.CoverUrl, "CoverUrl")
        declared = req.MediaType or media_type_from_url(req.MediaUrl)
        if not declared:
            raise VodError(
                "InvalidParameterValue.MediaType",
                "MediaType is required when the URL path has no file extension.",
            )
        media_type = normalise_media_type(declared)
        expire = parse_expire_time(req.ExpireTime)
        options = FlowOptions.of(
            priority=req.TasksPriority,
            session_context=req.SessionContext,
            session_id=req.SessionId,
            ext_info=req.ExtInfo,
        )
        await self.library.check_procedure(app_id, req.Procedure)
        await self.library.check_class(app_id, req.ClassId)

        t = now()
        task_id = ids.task_id(app_id, "PullUpload")  # the application's id
        output = {
            "TaskId": task_id,
            "Status": "WAITING",
            "ErrCode": 0,
            "Message": "",
            "Progress": 0,
            "SessionContext": options.session_context,
            "SessionId": options.session_id,
        }
        async with self.db.tx() as conn:
            await claim_session(conn, app_id, options.session_id, task_id, t)
            await tasks_q.add_task(
                conn,
                task_id=task_id,
                app_id=app_id,
                type="PullUpload",
                status=TaskStatus.WAITING,
                **options.columns(),
                err_code=0,
                err_code_ext="",
                message="",
                input={
                    "MediaUrl": req.MediaUrl,
                    "MediaType": media_type,
                    "MediaName": req.MediaName or name_from_url(req.MediaUrl),
                    "CoverUrl": req.CoverUrl or "",
                    "Procedure": req.Procedure or "",
                    "ExpireTime": expire,
                    "ClassId": req.ClassId or 0,
                    "SourceContext": req.SourceContext or "",
                },
                output=output,
                create_time=t,
                enqueued_at=t,  # its message is sent right after the commit
            )
        await self.queue.submit(PULL_UPLOAD_JOB, task_id, options.priority)
        return task_id

    async def abort(self, app_id: int, task_id: str) -> bool:
        """ManageTask Abort of a PullUpload task; False when `task_id` is not one."""
        async with self.db.tx() as conn:
            task = await tasks_q.get_task(conn, app_id, task_id)
            if task is None or task["type"] != "PullUpload":
                return False
            output = _output(task) | {
                "Status": "FINISH",
                "ErrCode": ERR_INTERNAL,
                "Message": ABORTED_MESSAGE,
                "Progress": 100,
            }
            if not await tasks_q.set_task_status(
                conn,
                task_id,
                [TaskStatus.WAITING, TaskStatus.PROCESSING],
                status=TaskStatus.ABORTED,
                err_code=ERR_INTERNAL,
                message=ABORTED_MESSAGE,
                output=output,
                finish_time=now(),
                lease_owner=None,
                lease_until=None,
            ):
                raise VodError(
                    "FailedOperation",
                    f"The task is {task['status']}: only WAITING or PROCESSING tasks can be "
                    "aborted.",
                )
            app_row = await apps_q.get(conn, app_id)
            if app_row is not None:
                await events.emit(conn, app_row, "PullComplete", _event(output))
        return True

    async def run(self, task_id: str) -> None:
        """The PULL_UPLOAD_JOB: claim the task, fetch, add to the library, finish it."""
        await run_job_task(
            self.db,
            task_id,
            "PullUpload",
            lease_s=self.settings.lease_s,
            tmp_dir=self.blobs.tmp_dir,
            body=self._run,
            exhausted=lambda task: self._finish(task, ERR_INTERNAL, INTERRUPTED),
        )

    async def _run(self, task: dict[str, Any], _work: Path) -> None:
        async with self.db.tx() as conn:
            output = _output(task) | {"Status": "PROCESSING"}
            if not await tasks_q.update_held_job(conn, task["task_id"], OWNER, output=output):
                return
        await self._pull(task)

    async def _pull(self, task: dict[str, Any]) -> None:
        task_id = task["task_id"]
        spec = task["input"]
        media = cover = None
        if self.faults.enabled and (failed := await faults.pull_task_error(self.faults, task)):
            await self._finish(task, *failed)  # fault injection (test-only)
            return
        try:
            async with asyncio.timeout(DEADLINE_S):
                media = await self._fetch(spec["MediaUrl"], self.settings.max_upload_bytes)
                if spec.get("CoverUrl"):
                    cover = await self._fetch(spec["CoverUrl"], COVER_MAX_BYTES)
            record = await self._add(task, spec, media, cover)
            log.info("pulled %s as %s", task_id, record.file_id)
        except LeaseLost:
            log.info("PullUpload %s was aborted meanwhile: its file is not added", task_id)
        except FetchError as exc:
            await self._finish(task, exc.err_code, exc.message)
        except TimeoutError:
            await self._finish(task, ERR_INPUT, "The download took too long.")
        except MediaRefused as exc:
            await self._finish(task, ERR_SOURCE, f"{exc.source_code}: {exc.message}")
        except VodError as exc:
            await self._finish(task, ERR_INPUT, f"{exc.code}: {exc.message}")
        except Exception:
            log.exception("PullUpload %s failed", task_id)
            await self._finish(task, ERR_INTERNAL, "Internal error while pulling the file.")
        finally:
            for path in (media, cover):
                if path is not None:
                    path.unlink(missing_ok=True)

    async def _fetch(self, url: str, limit: int) -> Path:
        """`fetch`, stopped if the source is slower on average than the rate floor
        (VODFLOW_PULL_MIN_RATE_BPS) once the grace period is over: a trickling source
        must not hold a pull slot for the whole DEADLINE_S."""
        dest = self.blobs.temp_path()
        job = asyncio.create_task(
            fetch(url, limit, dest=dest, allow_private=self.settings.allow_private_urls)
        )
        floor, grace = self.settings.pull_min_rate_bps, self.settings.pull_rate_grace_s
        started = time.monotonic()
        while True:
            done, _ = await asyncio.wait({job}, timeout=RATE_CHECK_S)
            if done:
                return job.result()
            elapsed = time.monotonic() - started
            if floor > 0 and elapsed >= grace and _size(dest) < floor * elapsed:
                await stop(job)
                raise FetchError(
                    ERR_INPUT,
                    f"The source sent less than {floor:.0f} bytes/s on average over "
                    f"{elapsed:.0f} s; the download was stopped.",
                )

    async def _add(
        self,
        task: dict[str, Any],
        spec: dict[str, Any],
        media: Path,
        cover: Path | None,
    ) -> MediaRecord:
        async def finish_in(conn: Any, record: MediaRecord) -> None:
            output = _output(task) | {
                "Status": "FINISH",
                "ErrCode": 0,
                "Message": "SUCCESS",
                "Progress": 100,
                "FileId": record.file_id,
                "FileUrl": record.media_url,
                "MediaBasicInfo": record.basic_info,
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
                raise LeaseLost  # rolls the media back: the task is no longer ours
            app_row = await apps_q.get(conn, task["app_id"])
            assert app_row is not None
            await events.emit(conn, app_row, "PullComplete", _event(output))

        return await self.library.add_media(
            task["app_id"],
            media,
            name=spec["MediaName"],
            media_type=spec["MediaType"],
            class_id=spec.get("ClassId") or 0,
            expire_time=spec.get("ExpireTime"),
            source_info={"SourceType": "Upload", "SourceContext": spec.get("SourceContext") or ""},
            cover_src=cover,
            procedure=spec.get("Procedure") or None,
            flow_options=FlowOptions.of(
                priority=task["priority"], session_context=task["session_context"]
            ),
            conn_hook=finish_in,
        )

    async def _finish(self, task: dict[str, Any], err_code: int, message: str) -> None:
        output = _output(task) | {
            "Status": "FINISH",
            "ErrCode": err_code,
            "Message": message[:500],
            "Progress": 100,
        }
        async with self.db.tx() as conn:
            if not await tasks_q.finish_job(
                conn,
                task["task_id"],
                OWNER,
                status=TaskStatus.FINISH,
                err_code=err_code,
                message=message[:500],
                output=output,
                finish_time=now(),
            ):
                return  # aborted meanwhile: that is its end
            app_row = await apps_q.get(conn, task["app_id"])
            if app_row is not None:
                await events.emit(conn, app_row, "PullComplete", _event(output))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _output(task: dict[str, Any]) -> dict[str, Any]:
    return dict(task["output"] or {})


def _event(output: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "TaskId",
        "Status",
        "ErrCode",
        "Message",
        "FileId",
        "MediaBasicInfo",
        "FileUrl",
        "ProcedureTaskId",
        "SessionContext",
        "SessionId",
    )
    return {k: output[k] for k in keys if k in output}


# --- fetching ------------------------------------------------------------------


class _CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects only where the
    address policy allows, to the very address it checked (net_policy)."""

    def __init__(self, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            network_backend=net_policy.CheckedBackend(allow_private=allow_private),
        )


def check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(ERR_INPUT, "Only http and https URLs can be pulled.")


async def fetch(url: str, limit: int, *, dest: Path, allow_private: bool) -> Path:
    """Download `url` to `dest`, a temporary file in the blob store (streamed, bounded)."""
    tmp = dest
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=10.0)
    try:
        async with httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=_CheckedTransport(allow_private),
        ) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                check_scheme(url)
                async with client.stream("GET", url) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        url = urljoin(url, location)
                        continue
                    if response.status_code != 200:
                        raise FetchError(
                            ERR_INPUT, f"The URL answered HTTP {response.status_code}."
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(ERR_INPUT, f"The file is larger than {limit} bytes.")
                    size = 0
                    with open(tmp, "wb") as fh:
                        async for chunk in response.aiter_bytes(1024 * 1024):
                            size += len(chunk)
                            if size > limit:
                                raise FetchError(
                                    ERR_INPUT, f"The file is larger than {limit} bytes."
                                )
                            await asyncio.to_thread(fh.write, chunk)
                    return tmp
            raise FetchError(ERR_INPUT, f"More than {MAX_REDIRECTS} redirects.")
    except net_policy.AddressRefused:
        tmp.unlink(missing_ok=True)
        raise FetchError(ERR_INPUT, net_policy.REFUSED_MESSAGE) from None
    except net_policy.Unresolvable as exc:
        tmp.unlink(missing_ok=True)
        raise FetchError(ERR_INPUT, str(exc)) from None
    except httpx.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise FetchError(ERR_INPUT, f"The download failed: {type(exc).__name__}.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
