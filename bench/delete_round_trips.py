"""DeleteMedia's round trips to PostgreSQL (issue 16, goal 4): what its transaction sends.

In process, on a fresh database: N media are added, then deleted one by one through
`LibraryService.delete` with the delete event switch on (the FileDeleted event and its
wake-up notice included). Every call of asyncpg's protocol (a prepare, a bound
execution, a simple query: each one round trip) is recorded from the pool's checkout
to the COMMIT with its time, and printed for the first delete (statement cache cold) and the last
(warm), with the median time of a delete (noisy on a shared machine; the count is
the figure).

Run: `.venv/bin/python -m bench.delete_round_trips [N]` from the repository root
(needs PostgreSQL at 127.0.0.1:5432, as tests/scale; default N 30).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from tests.mediagen import make_video
from tests.scale import services as svc

CALLS: list[str] = []
TRACED = {"prepare", "bind_execute", "bind_execute_many", "bind", "execute", "query"}


class Traced:
    """asyncpg's protocol object, recording each call that is a round trip."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._protocol, name)
        if name not in TRACED:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            sql = next((a if isinstance(a, str) else a.query for a in args if _sql(a)), "")
            t = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                ms = (time.perf_counter() - t) * 1000
                CALLS.append(f"{ms:6.2f} ms  {name}: {' '.join(sql.split())[:90]}")

        return call


def _sql(arg: Any) -> bool:
    return isinstance(arg, str) or isinstance(getattr(arg, "query", None), str)


async def run(n: int, database_url: str) -> None:
    from vodflow.app import build_services
    from vodflow.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=database_url)
        services = await build_services(settings)
        db = services.db

        @event.listens_for(db.engine.sync_engine, "connect")
        def _trace(dbapi_conn: Any, _record: Any) -> None:
            raw = dbapi_conn._connection
            raw._protocol = Traced(raw._protocol)

        await db.engine.dispose()  # every connection from now on is traced
        async with db.tx() as conn:
            await conn.execute(text("UPDATE apps SET delete_event_switch = 'ON'"))
        clip = make_video(Path(tmp) / "c.mp4", duration=1, width=160, height=90, fps=10)
        file_ids = []
        for i in range(n):
            added = await services.library.add_media(
                settings.app_id, clip, name=f"c{i}", media_type="mp4", copy=True
            )
            file_ids.append(added.file_id)
        times = []
        for i, file_id in enumerate(file_ids):
            CALLS.clear()
            t = time.perf_counter()
            await services.library.delete(settings.app_id, file_id)
            times.append(time.perf_counter() - t)
            if i in (0, n - 1):
                print(f"delete {i + 1} of {n}: {len(CALLS)} round trips")
                for call in CALLS:
                    print(f"    {call}")
        print(f"median delete {statistics.median(times) * 1000:.2f} ms")
        await db.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    svc.require_services()
    name = svc.create_database()
    try:
        asyncio.run(run(n, svc.database_url(name)))
    finally:
        svc.drop_database(name)


if __name__ == "__main__":
    main()
