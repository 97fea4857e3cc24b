"""Run any ServerProcess as a scaled deployment (VODFLOW_TEST_DEPLOYMENT=scaled).

The server gets its own PostgreSQL database and Celery queue, and a `vodflow
worker` companion that starts and stops with it; media work then happens in the
worker process, events cross processes through LISTEN/NOTIFY. The earlier
end-to-end suites run unchanged on top (tests/scale/test_e2e_scaled.py).
"""

from __future__ import annotations

from tests.scale import services as svc
from tests.scale.cluster import WorkerProcess
from tests.servers import ServerProcess

WORKER_CONCURRENCY = 2


def scale_out(server: ServerProcess) -> None:
    """Give `server` (before it starts) a database, a queue and a worker; idempotent."""
    if "VODFLOW_DATABASE_URL" not in server.env:
        svc.require_services()
        scaled = svc.scaled_env(svc.create_database(), svc.new_queue())
        scaled["VODFLOW_BLOB_DIR"] = str((server.data_dir / "blobs").resolve())
        # A scaled process refuses to start without it (whatever the scheme).
        scaled["VODFLOW_PUBLIC_URL"] = server.url
        # Settings the test chose win (it may point at its own database or blob dir).
        server.env = {**scaled, **server.env}
    if not server.companions:
        server.companions.append(
            WorkerProcess(
                server.data_dir / "worker", env=dict(server.env), concurrency=WORKER_CONCURRENCY
            )
        )
