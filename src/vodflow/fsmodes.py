"""File modes for what holds secrets: the data dir 0700, the database and keys 0600.

The SQLite database (and its -wal and -shm files) holds live temporary
credentials and SignKeys; credentials.json holds the root key. Other local users
must not read them, whatever the umask. SQLite gives -wal and -shm the mode of
the database file, so creating that file 0600 before SQLite does covers all three.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("vodflow.files")

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) 0700; an existing one is left, with a warning
    when others can enter it (the files inside are 0600 regardless)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
        return
    with contextlib.suppress(OSError):
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("data dir %s is accessible to other users (chmod 700 it)", path)


def private_sqlite(db_path: Path) -> None:
    """Make the database file 0600 before SQLite opens it (create it empty if absent),
    and tighten the files of an existing one."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for suffix in SQLITE_SUFFIXES:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(f"{db_path}{suffix}", FILE_MODE)
