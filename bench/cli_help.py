"""`vodflow --help` start-up time: the lazy CLI against the eager imports it replaced.

Before, every `vodflow` call imported the server (composition root, SQLAlchemy,
Starlette, uvicorn), the Tencent and COS SDKs and rich before parsing a flag. Now
command modules import typer only and load the rest inside the command that runs.
Side by side, each a fresh interpreter, median and best of N runs:

- floor: `python -c pass` (the interpreter alone)
- eager: `python -c "import <what the CLI imported before>"`
- vodflow --help: the console script, as users type it
- vodflow --version

Run: `.venv/bin/python -m bench.cli_help [RUNS]` from the repository root. Target:
`vodflow --help` under 0.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
EAGER = (
    "import typer, rich.console, rich.progress, uvicorn, qcloud_cos, vodflow.app, vodflow.client"
)


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    """(median, best) wall time of `runs` runs."""
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), min(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    rows = [
        ("floor: python -c pass", [sys.executable, "-c", "pass"]),
        ("eager imports of the old CLI", [sys.executable, "-c", EAGER]),
        ("vodflow --help", [str(BIN / "vodflow"), "--help"]),
        ("vodflow --version", [str(BIN / "vodflow"), "--version"]),
        ("vodflow serve --help", [str(BIN / "vodflow"), "serve", "--help"]),
    ]
    for _ in range(2):  # warm the page cache and .pyc files
        subprocess.run(rows[1][1], check=True, capture_output=True)
    print(f"{'':32s} {'median':>9s} {'best':>9s}   ({runs} runs)")
    for label, cmd in rows:
        median, best = timed(cmd, runs)
        print(f"{label:32s} {median * 1000:6.0f} ms {best * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
