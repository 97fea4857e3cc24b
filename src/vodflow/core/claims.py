"""What a runner holds while it runs claimed subtasks (core/subtasks.py): the claim."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vodflow.core.placement import JOURNAL


@dataclass
class Claim:
    task: dict[str, Any]
    rows: list[dict[str, Any]]
    work: Path
    stale: list[str]
    # Subtasks leased for the first time (a re-run after a crash or a clean
    # restart is not a state change, so it writes no Change event).
    first: set[int] = field(default_factory=set)
    # Outputs swapped in but not yet settled: the work directory holds what they
    # replaced and the journal, which the next claim needs (see `_recover`).
    unsettled: bool = False
    # Until when our lease is known to hold (the claim's, then each renewal's).
    lease_until: float = 0.0
    # The media work is over and the executor slot given back: the end is being recorded.
    ending: bool = False

    @property
    def journal(self) -> Path:
        return self.work / JOURNAL

    @property
    def ids(self) -> list[int]:
        return [r["id"] for r in self.rows]
