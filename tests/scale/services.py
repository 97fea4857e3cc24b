"""The real backing services of the scaled deployment: PostgreSQL and Redis.

Every test (or scaled test server) gets its own PostgreSQL database, created from
the `test` database and dropped afterwards, and its own Celery queue name, so runs
of several people on one machine never see each other's rows or messages.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import secrets

import asyncpg
import redis

PG_HOST = os.environ.get("VODFLOW_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("VODFLOW_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("VODFLOW_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("VODFLOW_TEST_PG_DB", "test")
REDIS_HOST = os.environ.get("VODFLOW_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("VODFLOW_TEST_REDIS_PORT", "6379"))
BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"

_created: list[str] = []
_queues: list[str] = []


def require_services() -> None:
    """Skip (outside CI) or fail (in CI) unless PostgreSQL and Redis answer."""
    from tests.conftest import require_service

    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", REDIS_HOST, REDIS_PORT)


def _admin(sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


def database_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def create_database(template: str | None = None) -> str:
    """A fresh database, empty or a copy of `template`; its name (dropped at the latest
    when pytest exits)."""
    name = f"vodflow_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    _created.append(name)
    return name


def drop_database(name: str) -> None:
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with contextlib.suppress(ValueError):
        _created.remove(name)


@atexit.register
def _drop_leftovers() -> None:
    for name in list(_created):
        drop_database(name)
    for queue in _queues:
        purge_queue(queue)


def new_queue() -> str:
    """A Celery queue name of its own (purged from Redis at the latest when pytest exits)."""
    queue = f"vodflow-test-{secrets.token_hex(6)}"
    _queues.append(queue)
    return queue


def scaled_env(db_name: str, queue: str) -> dict[str, str]:
    """The settings every process of one scaled deployment shares (blob dir aside)."""
    return {
        "VODFLOW_DATABASE_URL": database_url(db_name),
        "VODFLOW_EXECUTOR": "celery",
        "VODFLOW_BROKER_URL": BROKER_URL,
        "VODFLOW_CELERY_QUEUE": queue,
    }


def purge_queue(queue: str) -> None:
    """Remove a test queue from Redis: its lists (all priority steps) and the messages
    of killed workers still held unacknowledged (kombu would restore them in an hour)."""
    keys = [queue] + [f"{queue}:{i}" for i in range(1, 10)]
    keys += [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
    with contextlib.suppress(redis.RedisError):
        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        r.delete(*keys)
        for tag, raw in r.hscan_iter("unacked"):
            with contextlib.suppress(ValueError, TypeError, IndexError):
                if json.loads(raw)[2] == queue:
                    r.hdel("unacked", tag)
                    r.zrem("unacked_index", tag)
