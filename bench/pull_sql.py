"""The PULL queue's SQLite statements alone: CPU per claim(16)+confirm pair, in process.

Measures what the SQLite side of PullEvents(16)+ConfirmEvents costs without HTTP or
the request path: the queue's own statements (`store.events.SqliteQueue`, imported,
not copied) on a database of queued events as `bench/reads.py` seeds them (1.4 KB
ProcedureStateChanged bodies), against an experiment layout that is not vodflow's:
the lease state (visible_at, handle, attempts, confirmed_at) in a narrow table of
its own, the claim returning ids and a second statement reading the bodies. Blocks
of pairs alternate between the layouts in one process, so a machine shared with
other work loads both alike; the figure is process CPU (user+system) per pair.

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

NARROW_SCHEMA = """
CREATE TABLE pull_queue (event_id INTEGER PRIMARY KEY, app_id BIGINT NOT NULL,
  visible_at FLOAT, handle VARCHAR(64), confirmed_at FLOAT, attempts INTEGER NOT NULL);
CREATE INDEX ix_pull_queue ON pull_queue (app_id, visible_at, event_id)
  WHERE confirmed_at IS NULL AND visible_at IS NOT NULL;
INSERT INTO pull_queue SELECT id, app_id, visible_at, handle, confirmed_at, attempts
  FROM events WHERE mode = 'PULL';
"""
NARROW_CLAIM = (
    "UPDATE pull_queue SET visible_at = ?, handle = ?, attempts = attempts + 1 "
    "WHERE event_id IN (SELECT event_id FROM pull_queue WHERE app_id = ? "
    "AND confirmed_at IS NULL AND visible_at <= ? ORDER BY visible_at, event_id LIMIT ?) "
    "RETURNING event_id"
)
NARROW_CONFIRM = (
    "UPDATE pull_queue SET confirmed_at = ?, visible_at = NULL WHERE app_id = ? "
    "AND handle = ? AND confirmed_at IS NULL AND visible_at > ? AND event_id IN ({}) "
    "RETURNING event_id"
)


def _wide(path: str) -> Callable[[], None]:
    queue = SqliteQueue(path)

    def pair() -> None:
        t, token = time.time(), new_token()
        rows = queue.claim(APP_ID, t, t + VISIBILITY_S, token, 16)
        assert len(rows) == 16, "the queue ran dry: raise --events"
        done = queue.confirm(APP_ID, token, [r[0] for r in rows], t)
        assert len(done) == 16

    return pair


def _narrow(path: str) -> Callable[[], None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(NARROW_SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")

    def pair() -> None:
        t, token = time.time(), new_token()
        ids = [r[0] for r in conn.execute(NARROW_CLAIM, (t + VISIBILITY_S, token, APP_ID, t, 16))]
        assert len(ids) == 16, "the queue ran dry: raise --events"
        marks = ",".join("?" * len(ids))
        bodies = conn.execute(
            f"SELECT id, event_type, body FROM events WHERE id IN ({marks})", ids
        ).fetchall()
        assert len(bodies) == 16
        done = conn.execute(NARROW_CONFIRM.format(marks), (t, APP_ID, token, t, *ids)).fetchall()
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
        for name, make in (("wide (vodflow)", _wide), ("narrow (experiment)", _narrow)):
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
