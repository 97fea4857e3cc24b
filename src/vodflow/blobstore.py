"""Blobs in a directory (local, or shared by every process in a scaled deployment).

Keys are relative POSIX paths chosen by vodflow, never by users; `path()` still
refuses anything that would leave the root. Writes land under a temporary name
and are moved into place atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath


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

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove a whole folder of blobs (a media and everything made from it)."""
        self.delete(prefix.rstrip("/"))
