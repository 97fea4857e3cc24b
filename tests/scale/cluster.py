"""A scaled deployment on loopback: API replicas and Celery workers as real processes.

Every process shares one fresh PostgreSQL database, one Celery queue on Redis
(unique to this cluster) and one blob directory; each has its own data dir (its
log). URLs handed out are those of replica 0 (`VODFLOW_PUBLIC_URL`), as a load
balancer's would be in production.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.scale import services as svc
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess, free_port, stop_process


@dataclass
class WorkerProcess:
    """`vodflow worker` in its own process."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    concurrency: int = 1
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        if self.running:
            return self
        env = {
            **os.environ,
            "VODFLOW_SECRET_ID": SECRET_ID,
            "VODFLOW_SECRET_KEY": SECRET_KEY,
            "VODFLOW_ALLOW_PRIVATE_URLS": "1",
            "VODFLOW_LOG_LEVEL": "info",
            **self.env,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "worker.log"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "vodflow.cli", "worker", "--data-dir", str(self.data_dir)]
        cmd += ["--concurrency", str(self.concurrency)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vodflow worker exited early:\n{self.log()}")
            with self.log_path.open("rb") as f:
                f.seek(offset)
                if b" ready." in f.read():
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"vodflow worker did not become ready:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        return stop_process(self.proc, sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class Cluster:
    """N API replicas + M workers over one PostgreSQL database and one Redis queue."""

    root: Path
    replicas: int = 2
    workers: int = 2
    concurrency: int = 1
    # Extra VODFLOW_* settings for every process (e.g. a short lease for crash tests).
    env: dict[str, str] = field(default_factory=dict)
    db_name: str = ""
    queue: str = ""
    api: list[ServerProcess] = field(default_factory=list)
    pool: list[WorkerProcess] = field(default_factory=list)

    @property
    def blob_dir(self) -> Path:
        return self.root / "blobs"

    @property
    def database_url(self) -> str:
        return svc.database_url(self.db_name)

    def shared_env(self) -> dict[str, str]:
        return {
            **svc.scaled_env(self.db_name, self.queue),
            "VODFLOW_BLOB_DIR": str(self.blob_dir),
            "VODFLOW_PUBLIC_URL": self.public_url,
            **self.env,
        }

    def start(self) -> Cluster:
        svc.require_services()
        self.db_name = svc.create_database()
        self.queue = svc.new_queue()
        ports = [free_port() for _ in range(self.replicas)]
        self.public_url = f"http://127.0.0.1:{ports[0]}"
        env = self.shared_env()
        try:
            for i, port in enumerate(ports):
                srv = ServerProcess(self.root / f"api{i}", env=dict(env), port=port)
                self.api.append(srv.start())
            for i in range(self.workers):
                self.add_worker(f"worker{i}")
        except BaseException:
            self.stop()
            raise
        return self

    def add_worker(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(
            self.root / name, env=self.shared_env(), concurrency=self.concurrency
        )
        self.pool.append(worker)
        return worker.start()

    def stop(self) -> None:
        for worker in self.pool:
            worker.stop()
        for srv in self.api:
            srv.stop()
        if self.queue:
            svc.purge_queue(self.queue)
        if self.db_name:
            svc.drop_database(self.db_name)

    def logs(self) -> str:
        parts = [f"--- api{i}\n{s.log()}" for i, s in enumerate(self.api)]
        parts += [f"--- worker{i}\n{w.log()}" for i, w in enumerate(self.pool)]
        return "\n".join(parts)

    # ------------------------------------------------------------ direct access

    def settings(self) -> Any:
        return self.api[0].settings()

    def run(self, fn: Any) -> Any:
        """Run `await fn(services)` with services built on the cluster's database."""
        from vodflow.app import build_services

        async def go() -> Any:
            services = await build_services(self.settings())
            try:
                return await fn(services)
            finally:
                await services.db.close()

        return asyncio.run(go())

    def add_media(self, path: Path, name: str = "clip") -> str:
        async def go(services: Any) -> str:
            record = await services.library.add_media(
                services.settings.app_id,
                path,
                name=name,
                media_type=path.suffix.lstrip(".") or "mp4",
                copy=True,
            )
            return str(record.file_id)

        return str(self.run(go))

    def sql(self, query: str, *args: Any) -> list[Any]:
        """Rows of a read-only query on the cluster's database (asyncpg, $1 params)."""
        import asyncpg

        async def go() -> list[Any]:
            conn = await asyncpg.connect(
                host=svc.PG_HOST, port=svc.PG_PORT, user=svc.PG_USER, database=self.db_name
            )
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return asyncio.run(go())


def metric(base_url: str, sample: str) -> float | None:
    """The value of one sample (`name` or `name{labels}`, as exposed) on `base_url`/metrics."""
    import httpx

    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.rpartition(" ")[0] == sample:
            return float(line.rpartition(" ")[2])
    return None


def cluster(root: Path, **kwargs: Any) -> Iterator[Cluster]:
    """For fixtures: a started cluster, stopped (and its database dropped) afterwards."""
    c = Cluster(root, **kwargs)
    try:
        yield c.start()
    finally:
        c.stop()
