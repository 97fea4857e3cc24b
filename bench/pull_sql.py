"""The PULL queue's SQLite statements alone: CPU per claim(16)+confirm pair, in process.

Measures what the SQLite side of PullEvents(16)+ConfirmEvents costs without HTTP or
the request path: the queue's own statements (`store.events.SqliteQueue`, imported,
not copied: the lease state in narrow `pull_leases` rows, migration 0011) on a
database of queued events as `bench/reads.py` seeds them (1.4 KB
ProcedureStateChanged bodies), against the layout before 0011, rebuilt in a copy as
an experiment: the lease state (visible_at, handle, attempts, confirmed_at) in the
wide event rows, each claim and confirmation rewriting 16 of them. Blocks of pairs
alternate between the layouts in one process, so a machine shared with other work
loads both alike; the figure is process CPU (user+system) per pair.

Run: `.venv/bin/python -m bench.pull_sql [--events 60000] [--blocks 12] [--pairs 200]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reads import APP_ID, _queue_events

from vodflow.notify.handles import new_token
from vodflow.store.events import SqliteQueue

VISIBILITY_S = 30.0

WIDE_SCHEMA = """
ALTER TABLE events ADD COLUMN visible_at FLOAT;
ALTER TABLE events ADD COLUMN handle VARCHAR(64);
ALTER TABLE events ADD COLUMN confirmed_at FLOAT;
UPDATE events SET visible_at = (SELECT visible_at FROM pull_leases WHERE event_id = id);
CREATE INDEX ix_wide_pull ON events (app_id, visible_at, id)
  WHERE confirmed_at IS NULL AND visible_at IS NOT NULL;
DROP TABLE pull_leases;
"""
WIDE_CLAIM = (
    "UPDATE events SET visible_at = ?, handle = ?, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM events WHERE app_id = ? AND confirmed_at IS NULL "
    "AND visible_at <= ? ORDER BY visible_at, id LIMIT ?) "
    "RETURNING id, event_type, body"
)
WIDE_CONFIRM = (
    "UPDATE events SET confirmed_at = ?, visible_at = NULL "
    "WHERE app_id = ? AND handle = ? AND confirmed_at IS NULL AND visible_at > ? "
    "AND id IN ({}) RETURNING id"
)


def _narrow(path: str) -> Callable[[], None]:
    queue = SqliteQueue(path)

    def pair() -> None:
        t, token = time.time(), new_token()
        rows = queue.claim(APP_ID, t, t + VISIBILITY_S, token, 16)
        assert len(rows) == 16, "the queue ran dry: raise --events"
        done = queue.confirm(APP_ID, token, [r[0] for r in rows], t)
        assert len(done) == 16

    return pair


def _wide(path: str) -> Callable[[], None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(WIDE_SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")

    def pair() -> None:
        t, token = time.time(), new_token()
        rows = conn.execute(WIDE_CLAIM, (t + VISIBILITY_S, token, APP_ID, t, 16)).fetchall()
        assert len(rows) == 16, "the queue ran dry: raise --events"
        ids = sorted(r[0] for r in rows)
        marks = ",".join("?" * len(ids))
        done = conn.execute(WIDE_CONFIRM.format(marks), (t, APP_ID, token, t, *ids)).fetchall()
        assert len(done) == 16

    return pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--blocks", type=int, default=12, help="alternated blocks per layout")
    parser.add_argument("--pairs", type=int, default=200, help="claim+confirm pairs per block")
    args = parser.parse_args()
    if args.events < 16 * args.blocks * args.pairs:
        sys.exit("--events must cover every claim: at least 16 x blocks x pairs")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        _queue_events(seed, args.events)
        layouts: dict[str, Callable[[], None]] = {}
        for name, make in (("narrow (vodflow)", _narrow), ("wide (before 0011)", _wide)):
            copy = Path(tmp) / name.split()[0]
            shutil.copytree(seed, copy)
            layouts[name] = make(str(copy / "vodflow.db"))
        cpu = dict.fromkeys(layouts, 0.0)
        for block in range(args.blocks):
            for name, pair in layouts.items():
                c0 = time.process_time()
                for _ in range(args.pairs):
                    pair()
                if block >= 2:  # the first blocks warm the caches
                    cpu[name] += time.process_time() - c0
        measured = (args.blocks - 2) * args.pairs
        for name, seconds in cpu.items():
            print(f"  {name:<20} {seconds / measured * 1e6:6.0f} us CPU per claim+confirm pair")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
