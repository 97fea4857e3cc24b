"""Create or upgrade the schema with Alembic, at start-up, from inside the package."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from vodflow.fsmodes import private_sqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest revision (idempotent)."""
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None:
        private_sqlite(sqlite_file)
    command.upgrade(alembic_config(url), "head")


async def upgrade_async(url: str) -> None:
    # Alembic drives its own event loop for async engines: keep it off ours.
    await asyncio.to_thread(upgrade, url)
