"""docs/testing-your-app.md's pytest and unittest examples, run as written in a
directory of their own (the plugin loads itself; nothing of this project's conftest)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing-your-app.md"


def _block(after_heading: str) -> str:
    text = DOC.read_text()
    section = text[text.index(after_heading) :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_pytest_example(tmp_path: Path) -> None:
    (tmp_path / "test_doc_example.py").write_text(_block("## pytest"))
    done = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_doc_example.py"], tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:]


def test_the_unittest_example(tmp_path: Path) -> None:
    (tmp_path / "test_doc_unittest.py").write_text(_block("## unittest and scripts"))
    done = _run(["-m", "unittest", "test_doc_unittest"], tmp_path)
    assert done.returncode == 0 and "OK" in done.stderr, done.stderr[-3000:]
