"""CPU per call of the cheap read actions, in process: no HTTP, no signing.

Seeds the data of bench/reads.py (a clip processed by a real flow: its media with a
cover and snapshots, and the task) once into `--work`, then in one process runs each
action as the server does past authentication (`api.server.dispatch`: validation,
the application, the handler) and encodes the answer (`envelope.ok_body`), many times,
and prints the CPU microseconds per call (median and least of `--rounds` rounds; the
actions alternate within each round: on a busy machine the least is the steadier).
DescribeEventsState (one COUNT) is the baseline the other two are compared with
(issue 16, goal 1).

Run: `.venv/bin/python -m bench.reads_inproc [--work /tmp/reads-inproc] [--calls 5000]`.
Pass `--dump` to print each answer's bytes instead (to compare two versions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reads import _seed
from tests.servers import SECRET_ID, SECRET_KEY

from vodflow.api import envelope
from vodflow.api.registry import load_all
from vodflow.api.server import dispatch
from vodflow.app import build_services
from vodflow.config import Settings


async def _measure(data: Path, ids: dict[str, str], calls: int, rounds: int, dump: bool) -> None:
    load_all()
    settings = Settings(data_dir=data, secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=0)
    services = await build_services(settings)
    try:
        credential = await services.credentials.lookup(SECRET_ID)
        assert credential is not None
        actions: dict[str, dict[str, Any]] = {
            "DescribeEventsState": {},
            "DescribeTaskDetail": {"TaskId": ids["task_id"]},
            "DescribeMediaInfos": {"FileIds": [ids["file_id"]]},
        }

        async def once(name: str, params: dict[str, Any]) -> bytes:
            result = await dispatch(services, credential, name, params, "rid")
            return envelope.ok_body(result, "rid")

        if dump:
            for name, params in actions.items():
                sys.stdout.write((await once(name, params)).decode() + "\n")
            return
        cpu: dict[str, list[float]] = {name: [] for name in actions}
        for _ in range(rounds):
            for name, params in actions.items():
                for _ in range(200):  # warm
                    await once(name, params)
                t0 = time.process_time()
                for _ in range(calls):
                    await once(name, params)
                cpu[name].append((time.process_time() - t0) / calls * 1e6)
        for name, values in cpu.items():
            size = len(await once(name, actions[name]))
            print(
                f"{name:22s} {statistics.median(values):6.1f} us/call median, "
                f"{min(values):6.1f} min (rounds {', '.join(f'{v:.1f}' for v in values)}; "
                f"{size} bytes)"
            )
    finally:
        await services.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dump", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="reads-inproc-"))
    data = work / "reads"
    if not (work / "ids.json").exists():
        work.mkdir(parents=True, exist_ok=True)
        _seed(data, work, 0)
    ids = json.loads((work / "ids.json").read_text())
    asyncio.run(_measure(data, ids, args.calls, args.rounds, args.dump))


if __name__ == "__main__":
    main()
