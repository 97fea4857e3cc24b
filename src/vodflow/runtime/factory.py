"""Choose the executor backend from the settings (`VODFLOW_EXECUTOR`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vodflow.runtime.executor import Executor, LocalExecutor

if TYPE_CHECKING:
    from vodflow.app import Services

EXECUTORS = ("local", "celery")


def make_executor(services: Services) -> Executor:
    """`local`: the in-process pool (embedded); `celery`: `vodflow worker` processes."""
    settings = services.settings
    name = settings.executor.strip().lower()
    if name == "local":
        return LocalExecutor(services, settings.workers or None)
    if name == "celery":
        # Imported here so the embedded deployment never loads Celery.
        from vodflow.runtime.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    raise ValueError(f"VODFLOW_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {name!r}")
