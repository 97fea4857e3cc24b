"""Blobs in a directory (local, or shared by every process in a scaled deployment).

Keys are relative POSIX paths chosen by vodflow, never by users; `path()` still
refuses anything that would leave the root. Writes land under a temporary name
and are moved into place atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
        return fn
    return None


_renameat2 = _load_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 RENAME_EXCHANGE).

    False where the system or filesystem cannot: the caller falls back to renames.
    """
    if _renameat2 is None:
        return False
    args = (_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    result: int = _renameat2(*args)
    return result == 0


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir = self.root / ".tmp"
        self.tmp_dir.mkdir(exist_ok=True)

    def path(self, key: str) -> Path:
        pure = PurePosixPath(key)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\x00" in key:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*pure.parts)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh path on the same filesystem, for writing before `commit`."""
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def commit(self, tmp: Path, key: str) -> Path:
        """Move a finished temporary file (or directory) to `key` atomically."""
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return dest

    def replace(self, new: Path, key: str) -> Path | None:
        """Put `new` (a file or a directory) at `key`; return where the old blob went.

        The old blob is not deleted: it ends up at a path beside `new`'s former one
        (same filesystem), for the caller to delete once the change is recorded, or
        to put back with another `replace` if it is dropped. On Linux the two are
        swapped in one step, so a reader of a folder (HLS segments, sprites) finds
        the old one whole or the new one whole, never a missing or half-deleted one;
        elsewhere two renames leave an instant without either.
        """
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(dest):
            os.rename(new, dest)
            return None
        if exchange(new, dest):
            return new
        aside = new.with_name(f"{new.name}.old-{uuid.uuid4().hex[:8]}")
        if dest.is_dir() and not dest.is_symlink():
            os.rename(dest, aside)
        else:
            os.link(dest, aside)  # the old file stays readable until the replace below
        os.replace(new, dest)
        return aside

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove a whole folder of blobs (a media and everything made from it)."""
        self.delete(prefix.rstrip("/"))
