"""Output placement: swapping finished outputs into the blob store, all or nothing.

A subtask's outputs are swapped into place (the blobs they replace renamed aside,
not deleted), recorded in a journal in the work directory, and settled once the
result is recorded: what the recorded outputs replaced is deleted, anything else
is put back. The next claim of a dead attempt's subtasks reads its journal and
puts back what it had replaced (core/subtasks.py uses this as a mixin).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vodflow.blobstore import BlobStore

JOURNAL = ".placed.json"  # in a work directory: the outputs it swapped in


@dataclass
class Placed:
    """An output swapped into the blob store: where the blob it replaced went."""

    key: str
    ident: tuple[int, int]  # (device, inode) of what we put there
    old: Path | None


class OutputPlacement:
    """The placement half of a subtask runner; needs only the blob store."""

    blobs: BlobStore

    def _move(self, moves: Sequence[tuple[Path, str]], journal: Path) -> list[Placed]:
        """Swap finished outputs into place, keeping what they replace aside.

        A folder (HLS segments, sprites, snapshots) is swapped whole: readers see
        the old one or the new one, and the old one is deleted only once the new
        one is registered (`_settle`), so a registered output never lacks files.
        Each swap is written to `journal` for the next claim, should we die first.
        """
        placed: list[Placed] = []
        try:
            for path, key in moves:
                if any(p.key == key for p in placed):
                    continue  # several subtasks of one definition share one output
                old = self.blobs.replace(path, key)
                st = os.lstat(self.blobs.path(key))
                placed.append(Placed(key, (st.st_dev, st.st_ino), old))
                _write_journal(journal, placed)
        except Exception:
            self._unmove(placed)  # all or nothing: the earlier outputs stay whole
            raise
        return placed

    def _settle(self, placed: Sequence[Placed], kept: set[str]) -> None:
        """After the finish: delete what the recorded outputs replaced, undo the rest."""
        self._unmove([p for p in placed if p.key not in kept])
        for p in placed:
            if p.key in kept and p.old is not None:
                _remove(p.old)

    def _recover(self, work: Path) -> None:
        """Undo the swaps of a dead attempt, found by the next claim of its subtasks.

        That they are claimed again means the attempt's result was never recorded:
        the outputs it replaced (still registered) go back in place.
        """
        self._unmove(_read_journal(work / JOURNAL))

    def _unmove(self, placed: Sequence[Placed]) -> None:
        """Put back what our unrecorded outputs replaced (an earlier flow's, still registered).

        A key that someone else has replaced since is theirs: it is left alone.
        """
        for p in reversed(placed):
            dest = self.blobs.path(p.key)
            try:
                st = os.lstat(dest)
            except FileNotFoundError:
                st = None
            if st is None or (st.st_dev, st.st_ino) != p.ident:
                if p.old is not None:
                    _remove(p.old)
                continue
            if p.old is None:
                self.blobs.delete(p.key)
            else:
                mine = self.blobs.replace(p.old, p.key)
                if mine is not None:
                    _remove(mine)


def _write_journal(journal: Path, placed: Sequence[Placed]) -> None:
    entries = [
        {"key": p.key, "ident": list(p.ident), "old": None if p.old is None else str(p.old)}
        for p in placed
    ]
    tmp = journal.with_name(journal.name + ".tmp")
    tmp.write_text(json.dumps(entries))
    os.replace(tmp, journal)


def _read_journal(journal: Path) -> list[Placed]:
    try:
        entries = json.loads(journal.read_text())
    except (OSError, ValueError):
        return []
    return [
        Placed(
            e["key"], (int(e["ident"][0]), int(e["ident"][1])), Path(e["old"]) if e["old"] else None
        )
        for e in entries
    ]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
