"""`vodflow worker`: run subtasks sent by API replicas (VODFLOW_EXECUTOR=celery).

A worker needs what the replicas have: the same VODFLOW_DATABASE_URL (PostgreSQL),
VODFLOW_BROKER_URL (Redis), VODFLOW_CELERY_QUEUE and VODFLOW_BLOB_DIR (a shared
directory, NFS in production). Start as many as the machines allow; each runs up
to --concurrency jobs at once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from vodflow.config import Settings
from vodflow.fsmodes import private_dir


def worker(
    concurrency: int = typer.Option(
        None, "--concurrency", "-c", min=1, max=256, help="Jobs at once.  [default: the CPU count]"
    ),
    data_dir: Path = typer.Option(
        None, help="Credentials file, default blob dir.  [default: ./vodflow-data]"
    ),
    metrics_port: int = typer.Option(
        None,
        min=0,
        max=65535,
        help="Serve /metrics and /healthz on this port (0: off).  [default: 0]",
    ),
    metrics_host: str = typer.Option(
        None, help="Address of /metrics and /healthz.  [default: VODFLOW_METRICS_HOST, 127.0.0.1]"
    ),
) -> None:
    """Run media jobs from the Celery queue (scaled deployment)."""
    from celery import signals

    from vodflow.app import build_services
    from vodflow.runtime import celery_app as rt
    from vodflow.runtime.executor import default_concurrency

    # Jobs a worker starts (none today) are sent to Celery like the replicas' own.
    settings = Settings.from_env().with_overrides(
        data_dir=data_dir, metrics_port=metrics_port, metrics_host=metrics_host, executor="celery"
    )
    if not settings.broker_url:
        raise typer.BadParameter("set VODFLOW_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    if refusal := settings.scaled_refusal():
        raise typer.BadParameter(refusal)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.resolved_database_url.startswith("sqlite"):
        logging.getLogger("vodflow.worker").warning(
            "VODFLOW_DATABASE_URL is not set: this worker uses a SQLite file, which only "
            "processes on this machine can share; the scaled deployment needs PostgreSQL"
        )
    private_dir(settings.data_dir)
    app = rt.make_celery(settings)
    rt.configure_worker(settings, build_services)
    # Build the services (and run migrations) before taking the first message.
    runtime = rt.worker_runtime()
    signals.worker_shutdown.connect(lambda **_: rt.close_worker_runtime(), weak=False)
    if settings.metrics_port:
        from vodflow.runtime.worker_http import serve_worker_http

        serve_worker_http(settings.metrics_host, settings.metrics_port, runtime, app)
    # The thread pool: jobs are FFmpeg subprocesses awaited on one loop, so threads
    # suffice; a job of a killed worker is re-run by lease (docs/operations.md).
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            # A name of its own, even beside other workers on this host.
            f"--hostname=vodflow-{os.getpid()}@%h",
            f"--concurrency={concurrency or default_concurrency()}",
            f"--queues={settings.celery_queue}",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
