"""Create or upgrade the schema with Alembic, at start-up, from inside the package."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
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


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer vodflow than this process."""


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest revision (idempotent).

    A database already at a revision this vodflow does not know was upgraded by a
    newer version: refused with a message saying so (upgrade this process), never
    a traceback about a missing revision file. Migrations are expand-only within a
    release line (nullable columns, new tables), so during a rolling upgrade the
    older processes keep working until they are replaced (docs/operations.md).
    """
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None:
        private_sqlite(sqlite_file)
    try:
        command.upgrade(alembic_config(url), "head")
    except CommandError as exc:
        found = _UNKNOWN_REVISION.search(str(exc))
        if found is None:
            raise
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        raise SchemaTooNew(
            f"The database schema is at revision {found.group(1)}, newer than this vodflow "
            f"knows (up to {head}): a newer vodflow upgraded it. Run that version here too "
            "(docs/operations.md, Upgrades)."
        ) from None


_UNKNOWN_REVISION = re.compile(r"Can't locate revision identified by '([^']+)'")


async def upgrade_async(url: str) -> None:
    # Alembic drives its own event loop for async engines: keep it off ours.
    await asyncio.to_thread(upgrade, url)
