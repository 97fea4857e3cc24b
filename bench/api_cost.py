"""The API's own CPU per request, in process: vodflow's ASGI app against a bare endpoint.

Builds the real app on a temporary SQLite data dir (`build_services`, no background
parts started: the request path alone) and calls it as uvicorn does, without HTTP:
one ASGI `scope`, a `receive` that hands over the body, a `send` that keeps the
answer. Every call is a TC3-signed `POST /` (signed as the SDKs sign; the signature
is verified on every call, as always; an idempotent action may repeat it). Beside
it, the bare Starlette endpoint of `bench/reads.py`, answering the same bytes, is
called the same way. Batches of the two alternate; per request the script prints
the median and the best batch's thread CPU time (`time.thread_time`).

In a tight loop every cache is warm, which a server never is: its socket work
between two requests evicts them. `--cold MB` copies that much memory before each
call (and times each call on its own); with `--cold 4` the figures come close to
what `vodflow serve` spends inside the app under wrk (py-spy and per-stage timing,
issue 16): about 2.5x the warm ones for vodflow, 1.7x for the bare endpoint.

`--profile` runs vodflow's batches under cProfile instead and prints the top of the
profile; `--src OTHER/src` measures another checkout's code (e.g. main's) with this
script, and `--ab OTHER/src` alternates child runs of both checkouts (A is OTHER, B
this one) and prints each run's figures.

Run: `.venv/bin/python -m bench.api_cost [--action DescribeEventsState] [--params '{}']
[--batches 9] [--n 3000] [--cold 4] [--profile] [--ab ../main/src --rounds 3]`.
Bounded: well under a minute per run on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1:8080"


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--action", default="DescribeEventsState")
    p.add_argument("--params", default="{}", help="the JSON body")
    p.add_argument("--n", type=int, default=3000, help="requests per batch")
    p.add_argument("--batches", type=int, default=9)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--src", help="import vodflow from this src dir")
    p.add_argument("--ab", help="alternate child runs: this src dir (A) and ours (B)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cold", type=int, default=0, help="MB of memory copied before each call")
    p.add_argument("--json", action="store_true", help="print one JSON line (child mode)")
    return p.parse_args()


def _scope(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": raw,
        "state": {},
    }


_COLD = bytearray(0)


async def _batch(app: Any, scope: dict[str, Any], body: bytes, n: int) -> tuple[float, bytes]:
    """CPU seconds per call over `n` calls, and the last answer's body. With `--cold`,
    the CPU caches are cleared before each call (as a server's socket work does), and
    each call is timed on its own."""
    message = {"type": "http.request", "body": body, "more_body": False}
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(m: dict[str, Any]) -> None:
        if m["type"] == "http.response.body":
            out.append(m.get("body", b""))

    clock = time.thread_time
    spent = 0.0
    if _COLD:
        for _ in range(n):
            out.clear()
            bytes(_COLD)
            fresh = dict(scope)
            t0 = clock()
            await app(fresh, receive, send)
            spent += clock() - t0
    else:
        t0 = clock()
        for _ in range(n):
            out.clear()
            await app(dict(scope), receive, send)
        spent = clock() - t0
    return spent / n, b"".join(out)


def _bare_app(answer: bytes) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    from tests.servers import SECRET_ID, SECRET_KEY
    from tests.signing import signed_headers

    from vodflow.api import registry
    from vodflow.app import VodflowApp, build_services, routes
    from vodflow.config import Settings

    registry.load_all()
    with tempfile.TemporaryDirectory(prefix="api-cost-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=0
        )
        services = await build_services(settings)
        try:
            app = VodflowApp(routes=routes())
            app.state.services = services
            app.state.ready = True
            body = args.params.encode()
            # One signature for the whole run: an idempotent action may repeat it.
            scope = _scope(signed_headers(args.action, body, HOST), body)
            _, answer = await _batch(app, scope, body, 50)
            if b'"Error"' in answer:
                raise SystemExit(f"the action failed: {answer[:300]!r}")
            bare = _bare_app(answer)
            await _batch(bare, scope, body, 50)
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
                for _ in range(args.batches):
                    await _batch(app, scope, body, args.n)
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(35)
                return {}
            ours: list[float] = []
            floor: list[float] = []
            for _ in range(args.batches):
                ours.append((await _batch(app, scope, body, args.n))[0])
                floor.append((await _batch(bare, scope, body, args.n))[0])
        finally:
            await services.db.close()
    us = 1e6
    return {
        "action": args.action,
        "vodflow_median_us": round(statistics.median(ours) * us, 1),
        "vodflow_best_us": round(min(ours) * us, 1),
        "bare_median_us": round(statistics.median(floor) * us, 1),
        "bare_best_us": round(min(floor) * us, 1),
        "answer_bytes": len(answer),
    }


def _child(src: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.api_cost", "--json", "--src", src]
    cmd += ["--action", args.action, "--params", args.params]
    cmd += ["--n", str(args.n), "--batches", str(args.batches), "--cold", str(args.cold)]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    args = _parse()
    root = Path(__file__).resolve().parent.parent
    if args.ab:
        ours = str(root / "src")
        for r in range(args.rounds):
            for label, src in (("A", args.ab), ("B", ours)):
                print(f"round {r + 1} {label} ({src}):", _child(src, args), flush=True)
        return
    sys.path.insert(0, str(root))
    if args.src:
        sys.path.insert(0, str(Path(args.src).resolve()))
    _COLD.extend(bytes(args.cold << 20))
    result = asyncio.run(_measure(args))
    if args.json:
        print(json.dumps(result))
    elif result:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
