"""Choose the executor backend from the settings (`VODFLOW_EXECUTOR`)."""

from __future__ import annotations

from vodflow.config import Settings
from vodflow.core.jobs import PULL_UPLOAD_JOB
from vodflow.runtime.executor import Executor, LanedExecutor, LocalExecutor, RunJob

EXECUTORS = ("local", "celery")


def make_executor(settings: Settings, run_job: RunJob) -> Executor:
    """Media work on the configured backend, PullUpload downloads in a lane of their
    own in this process (runtime/executor.py, LanedExecutor)."""
    pulls = LocalExecutor(run_job, max(1, settings.pull_concurrency))
    return LanedExecutor(media_executor(settings, run_job), pulls, frozenset({PULL_UPLOAD_JOB}))


def media_executor(settings: Settings, run_job: RunJob) -> Executor:
    """`local`: the in-process pool (embedded); `celery`: `vodflow worker` processes."""
    name = settings.executor.strip().lower()
    if name == "local":
        return LocalExecutor(run_job, settings.workers or None)
    if name == "celery":
        # Imported here so the embedded deployment never loads Celery.
        from vodflow.runtime.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    raise ValueError(f"VODFLOW_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {name!r}")
