"""The Celery backend of the executor: subtasks run in `vodflow worker` processes anywhere.

An API replica's `CeleryExecutor.submit` sends one small message ("run job
(kind, id)") to Redis; a worker runs the very same `run_job` the in-process pool
runs. The message is only a hint, as with every executor: the subtask row's lease
is what keeps two runs apart, and the sweeper of any replica re-submits a subtask
whose lease expired (a worker killed outright leaves its message unacknowledged
in Redis until the visibility timeout; the lease expires much sooner).

Delivery settings that matter:

- `acks_late`: a message is acknowledged after the job returned. A worker killed
  mid-job leaves it unacknowledged; Redis gives it out again only after
  VISIBILITY_TIMEOUT_S, long after the lease re-ran the job, so that copy is
  refused by the claim. `task_reject_on_worker_lost` is set as well but acts only
  on a dead *prefork* child: `vodflow worker` runs the thread pool, where there is
  none. Recovery from a lost worker is the lease's (docs/operations.md, Recovery).
- `worker_prefetch_multiplier=1`: a worker holds no more messages than it runs, so
  an idle worker is never starved by a busy one hoarding the queue.
- Priorities: Redis has none, so kombu keeps one list per priority step and polls
  them in order (0 first). Tencent's TasksPriority (-10..10, higher first) is mapped
  onto the ten steps 0..9.

Each worker process builds its services once (database pool, blob store...) and
runs every job on one asyncio loop in a background thread; Celery's pool threads
just wait for their job's coroutine. Jobs are FFmpeg subprocesses, so one process
with several pool threads uses the cores without fork-per-job costs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from celery import Celery

from vodflow.config import Settings
from vodflow.periodic import cancel_and_wait

log = logging.getLogger("vodflow.celery")

TASK_NAME = "vodflow.run_job"
PRIORITY_STEPS = list(range(10))
# How long Redis keeps a delivered-but-unacknowledged message before giving it to
# another worker. Subtasks of a worker that died are re-run sooner, by lease.
VISIBILITY_TIMEOUT_S = 3600
RESEND_INTERVAL_S = 2.0


def celery_priority(priority: int) -> int:
    """Tencent's TasksPriority (-10..10, higher runs first) as a Redis step (0 runs first)."""
    p = max(-10, min(10, int(priority)))
    return int((10 - p) * 9 / 20 + 0.5)


def make_celery(settings: Settings) -> Celery:
    """The Celery app of this deployment: same configuration in API replicas and workers."""
    if not settings.broker_url:
        raise ValueError("VODFLOW_EXECUTOR=celery needs VODFLOW_BROKER_URL (e.g. redis://host/0)")
    app = Celery("vodflow", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.celery_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "priority_steps": PRIORITY_STEPS,
            "sep": ":",
            "queue_order_strategy": "priority",
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
        },
    )
    app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(
        _run_task
    )
    return app


class CeleryExecutor:
    """Executor protocol over Celery: `submit` sends, workers run; start/stop hold nothing."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        self.app = app or make_celery(settings)
        # One sender thread: kombu's blocking publish stays off the event loop, and
        # messages leave in the order they were submitted.
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="celery-send")
        # Jobs whose message could not be sent (broker down): sent again until it is back.
        # Only a hint kept in memory: if this process dies with it, the sweeper of any
        # replica sends the subtask's message again (runtime/sweeper.py). One entry a job.
        self._unsent: dict[tuple[str, str], int] = {}
        self._retry: asyncio.Task[None] | None = None

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        """Send the job's message; a broker outage delays the job, it never fails the caller.

        The caller's transaction is already committed (the flow exists), so an
        error here would only turn a success into a lie; the job is kept and sent
        again by the retry loop.
        """
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self._send, kind, job_id, priority)
        except Exception as exc:
            log.warning("broker unavailable (%s): job %s %s kept for retry", exc, kind, job_id)
            self._unsent[(kind, job_id)] = priority
            if self._retry is None or self._retry.done():
                self._retry = asyncio.create_task(self._resend(), name="celery-resend")

    def _send(self, kind: str, job_id: str, priority: int) -> None:
        self.app.send_task(
            TASK_NAME,
            args=[kind, job_id],
            queue=self.settings.celery_queue,
            priority=celery_priority(priority),
        )

    async def _resend(self) -> None:
        loop = asyncio.get_running_loop()
        while self._unsent:
            await asyncio.sleep(RESEND_INTERVAL_S)
            while self._unsent:
                (kind, job_id), priority = next(iter(self._unsent.items()))
                try:
                    await loop.run_in_executor(self._pool, self._send, kind, job_id, priority)
                except Exception:
                    break
                self._unsent.pop((kind, job_id), None)
        log.info("broker reachable again: held jobs sent")

    async def check_broker(self) -> None:
        """Raise unless the broker answers now (readiness, /healthz)."""
        await asyncio.get_running_loop().run_in_executor(None, broker_ping, self.app)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await cancel_and_wait(self._retry)
        self._pool.shutdown(wait=True)


def broker_ping(app: Celery, timeout_s: float = 2.0) -> None:
    """Connect to the broker once (raises if it does not answer within `timeout_s`)."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_s)


# --------------------------------------------------------------------- worker side


class WorkerServices(Protocol):
    """What a worker process needs of the services the composition root builds."""

    async def run_job(self, kind: str, job_id: str) -> None: ...

    async def close(self) -> None: ...


# Builds a process's services from the settings (app.build_services).
BuildServices = Callable[[Settings], Awaitable[WorkerServices]]


class WorkerRuntime:
    """One per worker process: an asyncio loop in a thread, and the services built on it."""

    def __init__(self, settings: Settings, build: BuildServices) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="vodflow-loop", daemon=True)
        self._thread.start()
        self.services: WorkerServices = self.call(build(settings))

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the runtime's loop and wait for its result (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def run(self, kind: str, job_id: str) -> None:
        self.call(self.services.run_job(kind, job_id))

    def close(self) -> None:
        try:
            self.call(self.services.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


_runtime: WorkerRuntime | None = None
_runtime_config: tuple[Settings, BuildServices] | None = None
_runtime_lock = threading.Lock()


def configure_worker(settings: Settings, build: BuildServices) -> None:
    """Tell this process (and the pool processes it forks) how to build its runtime."""
    global _runtime_config
    _runtime_config = (settings, build)


def worker_runtime() -> WorkerRuntime:
    """This process's runtime, built on first use (after a fork, built anew)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.pid != os.getpid():
            if _runtime_config is None:
                raise RuntimeError("configure_worker() was not called in this process")
            _runtime = WorkerRuntime(*_runtime_config)
        return _runtime


def close_worker_runtime() -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None


def _run_task(kind: str, job_id: str) -> None:
    """The Celery task: run the job; its handler records failures on its rows."""
    try:
        worker_runtime().run(kind, job_id)
    except Exception:
        # Nothing to retry here: the job's rows hold its outcome, and a job that
        # died before recording one is re-run by lease expiry.
        log.exception("job %s %s failed", kind, job_id)
