"""Running one subtask of a flow: lease it, run the media op, register what came out.

The life of a job, whatever executor delivered it:

1. **Claim** (one transaction): the subtask is leased to this runner if it is
   WAITING or its lease expired; a Transcode also claims its waiting Transcode
   siblings with the same clip window, so N renditions cost one decode (FFmpeg
   `split`). The flow turns PROCESSING; TasksNotifyMode=Change events are written.
2. **Run** in a private work directory under the blob store's `.tmp`. A heartbeat
   renews the lease and stores progress every 1.5 s; when it finds the lease gone
   (the flow was aborted, by any process) it cancels the op, which kills FFmpeg.
3. **Finish**: outputs are swapped into the media's folder (the old ones are
   renamed aside, not deleted), then one transaction records each subtask's
   result, registers outputs, sets the cover, writes the events and, when nothing
   is left, ends the flow FINISH. Only then are the old outputs deleted; a run
   whose result is not recorded (aborted meanwhile) puts them back instead.

A crash at any point leaves a lease that expires: the sweeper re-submits the
subtask, the next claim kills stray FFmpeg processes of the dead attempt and
discards its work directory, and the subtask runs again from scratch. Output
keys depend only on (media, kind, definition), so a re-run replaces, never adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vodflow import metrics
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core import faults, kinds
from vodflow.core.claims import Claim
from vodflow.core.faults import FaultBook
from vodflow.core.flows import FlowService
from vodflow.core.jobs import free_slot
from vodflow.core.kinds import Outcome
from vodflow.core.leases import HEARTBEAT_S, MAX_ATTEMPTS, stop
from vodflow.core.library import LibraryService
from vodflow.core.placement import OutputPlacement
from vodflow.core.subtask_context import SubtaskContext
from vodflow.core.templates import TemplateService
from vodflow.media.errors import INTERNAL_ERROR, SOURCE_FILE_ERROR, MediaError
from vodflow.media.probe import stored_probe
from vodflow.media.strays import kill_strays
from vodflow.owners import OWNER
from vodflow.status import TASK_LIVE, SubtaskStatus, TaskStatus
from vodflow.store import media as media_q
from vodflow.store import tasks as q
from vodflow.store.db import Database, is_transient
from vodflow.timeutil import now

log = logging.getLogger("vodflow.subtasks")

# Recording a result: retries after a transient database error, doubling.
FINISH_FIRST_RETRY_S = 0.2
FINISH_MAX_RETRY_S = 5.0
# Up to this many plain files are moved or removed on the event loop, not in a thread.
FEW_FILES = 8

_CORES = os.cpu_count() or 1  # (os.cpu_count reads /sys: once)
_running = 0  # subtask jobs running in this process
_ending = 0  # of which: media work over, recording their end (not sizing FFmpeg threads)


def ffmpeg_threads() -> int:
    """Threads for an FFmpeg starting now: the cores shared by the jobs running now.

    A job alone gets every core; one that started alone keeps them when others join
    (FFmpeg cannot change its thread count), a brief, mild oversubscription that is
    cheaper than reserving cores for jobs that may never come.
    """
    return max(1, _CORES // max(1, _running - _ending))


class SubtaskRunner(OutputPlacement):
    """Runs the SUBTASK_JOB: `run(subtask id)`, whatever executor delivered it."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        flows: FlowService,
        library: LibraryService,
        templates: TemplateService,
        faults: FaultBook,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.flows = flows
        self.library = library
        self.templates = templates
        self.faults = faults

    @property
    def public_url(self) -> str:
        return self.settings.resolved_public_url

    async def run(self, job_id: str) -> None:
        global _running, _ending
        claim = await self.claim(int(job_id))
        if claim is None:
            return
        _running += 1
        cancelled = False
        try:
            await self._run_claimed(claim)
        except asyncio.CancelledError:
            cancelled = True
            # Shutdown: give the work back so the next start runs it at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(claim))
            raise
        finally:
            try:
                if not claim.unsettled:
                    # No more awaiting once cancelled; a few files: cheaper than a thread.
                    if cancelled or _few_files(claim.work):
                        shutil.rmtree(claim.work, ignore_errors=True)
                    else:  # thousands of unlink calls: not on the event loop
                        await asyncio.to_thread(shutil.rmtree, claim.work, True)
            finally:
                _running -= 1  # after the clean-up: a job is over when nothing is left
                _ending -= claim.ending

    # --- 1. claim ---------------------------------------------------------------

    async def claim(self, subtask_id: int) -> Claim | None:
        t = now()
        until = t + self.settings.lease_s
        work = self.blobs.tmp_dir / f"flow-{subtask_id}-{secrets.token_hex(6)}"
        async with self.db.tx_inline() as conn:  # a few indexed rows
            row = await q.get_subtask(conn, subtask_id)
            if row is None:
                return None
            task = await q.get_task_any(conn, row["task_id"])
            if task is None or task["status"] not in TASK_LIVE:
                return None
            if not await q.claim(conn, subtask_id, OWNER, until, t):
                return None
            claimed = [subtask_id]
            first = {subtask_id} if row["begin_time"] is None else set()
            group_key = kinds.kind(row["type"]).group_key
            if group_key is not None:
                for other in await q.subtasks_of(conn, row["task_id"]):
                    if (
                        other["id"] != subtask_id
                        and other["type"] == row["type"]
                        and group_key(other["input"]) == group_key(row["input"])
                        and await q.claim(conn, other["id"], OWNER, until, t, skip_locked=True)
                    ):
                        claimed.append(other["id"])
                        if other["begin_time"] is None:
                            first.add(other["id"])
            rows = [r for r in [await q.get_subtask(conn, i) for i in claimed] if r]
            stale = [str((r["output"] or {}).get("_work")) for r in rows if _work_of(r)]
            for r in rows:
                await q.set_output(conn, r["id"], {"_work": str(work)})
            if task["status"] == TaskStatus.WAITING:
                await q.set_task_status(
                    conn,
                    task["task_id"],
                    [TaskStatus.WAITING],
                    status=TaskStatus.PROCESSING,
                    begin_time=t,
                )
            for _ in first:
                await self.flows.emit_state(conn, task["task_id"], final=False, task=task)
        return Claim(task, rows, work, stale, first, lease_until=until)

    # --- 2. run -------------------------------------------------------------------

    async def _run_claimed(self, claim: Claim) -> None:
        for path in claim.stale:
            # A dead attempt's FFmpeg may still run: stop it before starting again.
            await asyncio.to_thread(kill_strays, path)
            await asyncio.to_thread(self._recover, Path(path))
            shutil.rmtree(path, ignore_errors=True)
        claim.work.mkdir(parents=True, exist_ok=True)
        outcomes = [Outcome(r["id"]) for r in claim.rows]
        too_many = [r for r in claim.rows if r["attempts"] > MAX_ATTEMPTS]
        if too_many:
            for o in outcomes:
                o.fail(INTERNAL_ERROR, f"processing was interrupted {MAX_ATTEMPTS} times")
            await self.finish(claim, outcomes)
            return
        media = await self.library.get(claim.task["app_id"], claim.task["file_id"])
        if media is None:
            for o in outcomes:
                o.fail(SOURCE_FILE_ERROR, "the media no longer exists")
            await self.finish(claim, outcomes)
            return

        progress = [0.0]

        def on_progress(percent: float) -> None:
            progress[0] = percent

        plan = None
        if self.faults.enabled:  # fault injection (test-only): which faults this run gets
            plan = await faults.plan_subtasks(self.faults, claim.task, claim.rows)
        job = asyncio.create_task(self._execute(claim, media, outcomes, on_progress, plan))
        try:
            while True:
                done, _ = await asyncio.wait({job}, timeout=HEARTBEAT_S)
                if done:
                    break
                renewed = await self._beat(claim, progress[0])
                if renewed is False:
                    log.info("subtasks %s lost their lease (aborted?): stopping", claim.ids)
                    await stop(job)
                    return
                if renewed is None and now() >= claim.lease_until - HEARTBEAT_S:
                    # The lease could not be renewed and is about to expire: another
                    # runner may take the subtask then, so this FFmpeg stops first.
                    log.warning("subtasks %s: lease not renewed in time, stopping", claim.ids)
                    await stop(job)
                    return
        except BaseException:
            # Shutdown (or a bug): asyncio.wait does not cancel the op; FFmpeg must
            # not outlive us, nor write into a work directory that is being removed.
            await stop(job)
            raise
        try:
            job.result()
        except MediaError as exc:
            for o in outcomes:
                if not o.ok and not o.code:
                    o.fail(exc.code, exc.message)
        except Exception as exc:  # a bug must fail the subtask, never hang the flow
            log.exception("subtasks %s failed", claim.ids)
            for o in outcomes:
                if not o.ok and not o.code:
                    o.fail(INTERNAL_ERROR, f"internal error: {type(exc).__name__}")
        await self.finish(claim, outcomes)

    async def _beat(self, claim: Claim, percent: float) -> bool | None:
        """Renew the lease: True, False when it is lost, None when the database failed
        (the next beat tries again; the caller stops before the lease runs out)."""
        until = now() + self.settings.lease_s
        try:
            async with self.db.tx() as conn:
                held = await q.renew(conn, claim.ids, OWNER, until, min(99, int(percent)))
        except Exception as exc:
            log.warning("subtasks %s: lease renewal failed (%s); retrying", claim.ids, exc)
            return None
        if held:
            claim.lease_until = until
        return held

    async def _release(self, claim: Claim) -> None:
        async with self.db.tx() as conn:
            await q.release(conn, claim.ids, OWNER)

    async def _execute(
        self,
        claim: Claim,
        media: Mapping[str, Any],
        outcomes: list[Outcome],
        on_progress: Callable[[float], None],
        plan: faults.SubtaskPlan | None = None,
    ) -> None:
        meta = media.get("meta") or {}
        # Percent offsets and windows are of the video (docs/task-flows.md), not the container.
        duration = float(meta.get("VideoDuration") or meta.get("Duration") or 0.0)
        rows = claim.rows
        if plan is not None:  # fault injection: some fail unrun, the run stalls or is slowed
            for o in outcomes:
                if o.subtask_id in plan.fail:
                    o.err_code, code, message = plan.fail[o.subtask_id]
                    o.fail(code, message)
            rows = [r for r in rows if r["id"] not in plan.fail]
            outcomes = [o for o in outcomes if o.subtask_id not in plan.fail]
            await plan.stalled(on_progress)
        started = time.monotonic()
        if rows:
            # The source's probe stored at ingest: what probing it again would say.
            known = stored_probe(media.get("probe"), str(media["path"]))
            ctx = SubtaskContext(
                self, claim, media, duration, on_progress, rows, ffmpeg_threads, known
            )
            await kinds.kind(rows[0]["type"]).run(ctx, outcomes)
        if plan is not None:
            await plan.slowed(time.monotonic() - started)

    # --- 3. finish ------------------------------------------------------------------

    async def finish(self, claim: Claim, outcomes: Sequence[Outcome]) -> None:
        if not await self._still_held(claim):
            return  # aborted meanwhile: nothing of this run is kept
        _media_done(claim)
        moves = [m for o in outcomes if o.ok for m in o.moves]
        claim.unsettled = bool(moves)
        # A few single files (a cover, a snapshot): renamed on the event loop, which
        # costs less than a hop to a thread and back; folders and many files in a thread.
        inline = len(moves) <= FEW_FILES and all(path.is_file() for path, _key in moves)
        placed = (
            self._move(moves, claim.journal)
            if inline
            else await asyncio.to_thread(self._move, moves, claim.journal)
        )
        try:
            kept = await self._record_with_retries(claim, outcomes)
        except Exception:
            await _run(inline, self._unmove, placed)
            claim.unsettled = False
            raise
        # (A crash or a shutdown before this point leaves the work directory and
        # its journal to the next claim, which puts the replaced outputs back.)
        await _run(inline, self._settle, placed, kept)
        claim.unsettled = False

    async def _still_held(self, claim: Claim) -> bool:
        """Whether we still hold every subtask, asked again on transient errors."""
        delay = FINISH_FIRST_RETRY_S
        while True:
            try:
                async with self.db.read_inline() as conn:  # a few rows by primary key
                    return await q.holds(conn, claim.ids, OWNER)
            except Exception as exc:
                if not is_transient(exc) or now() + delay >= claim.lease_until:
                    raise
                log.warning("subtasks %s: reading the lease failed (%s); retrying", claim.ids, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, FINISH_MAX_RETRY_S)

    async def _record_with_retries(self, claim: Claim, outcomes: Sequence[Outcome]) -> set[str]:
        """`_record`, tried again with backoff on transient database errors while the
        lease holds: a hiccup must not cost the run (a lease, a re-run, an attempt)."""
        t = now()
        delay = FINISH_FIRST_RETRY_S
        retry = False
        while True:
            try:
                # A try after a failed one first asks whether that one's commit went
                # through although its answer was lost (`t` is the same for every try).
                done = await self._recorded_before(claim, outcomes, t) if retry else None
                if done is not None:
                    return done
                return await self._record(claim, outcomes, t)
            except Exception as exc:
                if not is_transient(exc) or now() + delay >= claim.lease_until:
                    raise
                log.warning(
                    "subtasks %s: recording the result failed (%s); retrying", claim.ids, exc
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, FINISH_MAX_RETRY_S)
            retry = True

    async def _recorded_before(
        self, claim: Claim, outcomes: Sequence[Outcome], t: float
    ) -> set[str] | None:
        """After a failed commit: the kept keys if that commit went through after all."""
        async with self.db.read_inline() as conn:  # a few rows by primary key
            rows = [await q.get_subtask(conn, o.subtask_id) for o in outcomes]
        ours = [(o, r) for o, r in zip(outcomes, rows, strict=True) if r and r["finish_time"] == t]
        if not ours:
            return None
        return {
            key
            for o, r in ours
            if o.ok and r["status"] == SubtaskStatus.SUCCESS
            for _p, key in o.moves
        }

    async def _record(self, claim: Claim, outcomes: Sequence[Outcome], t: float) -> set[str]:
        """The one transaction of a finish; the blob keys of the outputs it recorded."""
        kept: set[str] = set()
        ran: list[tuple[int, str]] = []
        task_id = claim.task["task_id"]
        async with self.db.tx_inline() as conn:  # a few indexed rows
            await q.lock_task(conn, task_id)
            for o in outcomes:
                values: dict[str, Any] = {
                    "status": SubtaskStatus.SUCCESS if o.ok else SubtaskStatus.FAIL,
                    "progress": 100 if o.ok else 0,
                    "output": o.output if o.ok else None,
                    "err_code_ext": "" if o.ok else o.code,
                    "err_code": 0 if o.ok else o.err_code,
                    "message": "SUCCESS" if o.ok else o.message[:1000],
                    "finish_time": t,
                }
                if not await q.finish_subtask(conn, o.subtask_id, OWNER, **values):
                    continue  # no longer ours (aborted): its outputs are not kept
                ran.append((o.subtask_id, values["status"]))
                if o.ok:
                    kept.update(key for _path, key in o.moves)
                if o.ok and o.register is not None:
                    out_kind, definition, info, keys = o.register
                    await media_q.upsert_output(
                        conn,
                        file_id=claim.task["file_id"],
                        kind=out_kind,
                        definition=definition,
                        info=info,
                        blob_keys=keys,
                    )
                if o.ok and o.cover_key is not None:
                    await media_q.set_cover(conn, claim.task["file_id"], o.cover_key)
                await self.flows.emit_state(conn, task_id, final=False, task=claim.task)
            if await q.count_live(conn, task_id) == 0 and await q.set_task_status(
                conn, task_id, TASK_LIVE, status=TaskStatus.FINISH, finish_time=t
            ):
                await self.flows.emit_state(conn, task_id, final=True)
        rows = {r["id"]: r for r in claim.rows}
        for subtask_id, status in ran:
            row = rows[subtask_id]
            metrics.observe_subtask(row["type"], status, t - float(row["begin_time"] or t))
        return kept


async def _run(inline: bool, fn: Callable[..., None], *args: Any) -> None:
    """`fn(*args)` here when `inline`, else in a thread."""
    if inline:
        fn(*args)
    else:
        await asyncio.to_thread(fn, *args)


def _few_files(work: Path) -> bool:
    """Whether `work` holds only a few files (no folder): removed without a thread."""
    try:
        with os.scandir(work) as entries:
            for i, entry in enumerate(entries):
                if i >= FEW_FILES or entry.is_dir(follow_symlinks=False):
                    return False
    except OSError:
        return False
    return True


def _media_done(claim: Claim) -> None:
    """The run's media work is over: its executor slot goes to the next job (and it no
    longer counts in `ffmpeg_threads`) while it records its end."""
    global _ending
    if not claim.ending:
        claim.ending = True
        _ending += 1
        free_slot()


def _work_of(row: Mapping[str, Any]) -> bool:
    out = row.get("output")
    return isinstance(out, dict) and bool(out.get("_work"))
