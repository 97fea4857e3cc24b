"""PullEvents(16)+ConfirmEvents in process: the server's CPU per pair, without HTTP.

Two figures on one SQLite data directory of queued events (written through
`core.events.emit`, so any version of vodflow can run this): `actions`, the two
actions' handlers with the answer's envelope (the queue, its SQL and the splice),
and `answer`, the whole API path (`api.server.answer`: TC3, replay memory,
validation, dispatch, envelope) with requests signed beforehand. Process CPU
(user+system) per pair, the harness's own parsing of the answers left out. For an
A/B against another checkout, run it alternately with that checkout's `src` first
on PYTHONPATH (its own data directory is made each run).

Run: `.venv/bin/python -m bench.pull_inproc [--pairs 2000] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.datastructures import State
from tests.events_support import emit_many
from tests.servers import SECRET_ID, SECRET_KEY
from tests.signing import signed_headers

from vodflow.api import envelope, registry
from vodflow.api.actions import events as actions
from vodflow.api.registry import Context
from vodflow.api.server import answer
from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.wire.events import ConfirmEventsRequest, PullEventsRequest

HOST = "127.0.0.1:9000"
WARM = 200
RID = "0d6f0e1e-0000-4000-8000-000000000000"


def _signed(action: str, params: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    body = json.dumps(params).encode()
    return {k.lower(): v for k, v in signed_headers(action, body, HOST).items()}, body


async def _run(data: Path, mode: str, pairs: int) -> float:
    registry.load_all()
    settings = Settings(
        data_dir=data, secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=0
    )  # fmt: skip
    services = await build_services(settings)
    try:
        await emit_many(services, 16 * (pairs + WARM), per_tx=2000)
        state = State()
        state.services = services
        ctx = Context(services, RID, None, settings.app_id)  # type: ignore[arg-type]
        pull_req = PullEventsRequest.model_validate({})
        pulls = [_signed("PullEvents", {"ExtInfo": f"n{i}"}) for i in range(pairs + WARM)]
        spent = 0.0

        async def call(headers: dict[str, str], body: bytes) -> bytes:
            async def read(*_limit: int) -> bytes:  # answer(): read(), or read(limit)
                return body

            out = await answer(state, "POST", "/", b"", headers, read)
            assert out is not None
            return out

        for i in range(pairs + WARM):
            if i == WARM:
                spent = 0.0
            if mode == "actions":
                c0 = time.process_time()
                out = envelope.ok_body(await actions.PullEvents(ctx, pull_req), RID)
                spent += time.process_time() - c0
                handles = [e["EventHandle"] for e in json.loads(out)["Response"]["EventSet"]]
                req = ConfirmEventsRequest.model_validate({"EventHandles": handles})
                c0 = time.process_time()
                envelope.ok_body(await actions.ConfirmEvents(ctx, req), RID)
                spent += time.process_time() - c0
            else:
                c0 = time.process_time()
                out = await call(*pulls[i])
                spent += time.process_time() - c0
                handles = [e["EventHandle"] for e in json.loads(out)["Response"]["EventSet"]]
                confirm = _signed("ConfirmEvents", {"EventHandles": handles})
                c0 = time.process_time()
                done = await call(*confirm)
                spent += time.process_time() - c0
                assert b'"Error"' not in done, done
            assert len(handles) == 16, "the queue ran dry"
        return spent / pairs
    finally:
        services.events.queue.close()
        await services.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(args.rounds):
        for mode in ("actions", "answer"):
            with tempfile.TemporaryDirectory() as tmp:
                per_pair = asyncio.run(_run(Path(tmp), mode, args.pairs))
            print(f"  {mode:<8} {per_pair * 1e6:6.0f} us CPU per PullEvents(16)+ConfirmEvents")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
