"""Operations settings (issue 12, item 21): each process's PostgreSQL pool is sized by
VODFLOW_DB_POOL_SIZE / VODFLOW_DB_MAX_OVERFLOW, no longer fixed at 5 + 15."""

from __future__ import annotations

import pytest

from vodflow.config import Settings
from vodflow.store.db import Database


def test_pool_size_and_overflow_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VODFLOW_DB_POOL_SIZE", "2")
    monkeypatch.setenv("VODFLOW_DB_MAX_OVERFLOW", "3")
    settings = Settings.from_env()
    assert (settings.db_pool_size, settings.db_max_overflow) == (2, 3)
    db = Database(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    pool = db.engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (2, 3)  # type: ignore[attr-defined]


def test_scaled_settings_without_a_public_url_are_refused() -> None:
    assert Settings(executor="local").scaled_refusal() is None
    assert (
        Settings(executor="celery", public_url="https://vod.example.com").scaled_refusal() is None
    )
    refusal = Settings(executor="celery").scaled_refusal()
    assert refusal is not None and refusal.startswith("VODFLOW_PUBLIC_URL is not set")
