"""The `vodflow` command as a newcomer meets it: help, version, one-line errors.

Every command runs as a subprocess, as a user types it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests import mediagen
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess, free_port
from tests.tlsutil import make_ca_and_server_cert
from vodflow import __version__

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    [], ["serve"], ["upload"], ["process"], ["worker"], ["tasks", "watch"], ["sign-upload"],
    ["events", "pull"], ["events", "receive"],
    ["faults", "create"], ["faults", "list"], ["faults", "delete"],
]  # fmt: skip


def vodflow(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
    clean.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "vodflow.cli", *args],
        env={**clean, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The whole of stderr, which must be exactly one `error: ...` line."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    return lines[0]


KEYS = {"VODFLOW_SECRET_ID": SECRET_ID, "VODFLOW_SECRET_KEY": SECRET_KEY}


def test_help_shows_defaults_plain_flags_and_a_version() -> None:
    serve = vodflow("serve", "--help")
    assert serve.returncode == 0
    assert re.search(
        r"--host <str>\s+Address to listen on\.\s+\[default: 127\.0\.0\.1\]", serve.stdout
    )
    assert re.search(r"--port <int>\s+Port to listen on\.\s+\[default: 8080\]", serve.stdout)
    assert "[default: ./vodflow-data]" in serve.stdout
    pull = vodflow("events", "pull", "--help").stdout
    assert re.search(r"^  --json\s+One JSON event per line\.$", pull, re.M), pull
    assert re.search(r"\[default:\s+http://127\.0\.0\.1:8080\]", pull), pull
    for command in COMMANDS:
        text = vodflow(*command, "--help").stdout
        # No lost `[default: ...]` leaving "Port to listen on ." behind.
        assert "<bool>" not in text and not re.search(r"\w \.(\s|$)", text), (command, text)
        assert "╭" not in text  # plain help: nothing for rich markup to eat
    version = vodflow("--version")
    assert (version.returncode, version.stdout) == (0, f"vodflow {__version__}\n")


def test_help_imports_no_server_sdk_or_rich() -> None:
    # `vodflow --help` must not pay for the server (measured in bench/cli_help.py).
    probe = (
        "import sys, vodflow.cli;"
        "heavy = ('sqlalchemy', 'uvicorn', 'starlette', 'tencentcloud', 'qcloud_cos', 'rich',"
        " 'av', 'celery', 'pydantic', 'httpx');"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_lone_secret_key_or_id_is_refused(tmp_path: Path) -> None:
    clip = mediagen.make_video(tmp_path / "c.mp4", duration=1)
    port = free_port()  # nothing listens: the refusal must come before any call
    for flag in ("--secret-key", "--secret-id"):
        done = vodflow("upload", str(clip), flag, "x" * 32, "--endpoint", f"http://127.0.0.1:{port}",
                       env=KEYS)  # fmt: skip
        assert done.returncode == 2
        assert one_line_error(done) == (
            "error: --secret-id and --secret-key go together: give both, or neither."
        )


def test_a_lone_environment_key_is_refused(tmp_path: Path) -> None:
    port = free_port()
    for name in ("VODFLOW_SECRET_ID", "VODFLOW_SECRET_KEY"):
        done = vodflow("tasks", "watch", "1250000000-Procedure-x", "--endpoint",
                       f"http://127.0.0.1:{port}", env={name: "x" * 32}, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 2
        assert one_line_error(done) == (
            "error: VODFLOW_SECRET_ID and VODFLOW_SECRET_KEY go together: set both, or neither."
        )


def test_server_down_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    done = vodflow("process", "1234", "--transcode", "10", "--endpoint", f"http://127.0.0.1:{port}",
                   env=KEYS)  # fmt: skip
    assert done.returncode == 2
    assert one_line_error(done) == (
        f"error: ClientNetworkError: cannot reach vodflow at http://127.0.0.1:{port} "
        "(connection refused); is `vodflow serve` running there? (--endpoint or VODFLOW_ENDPOINT)"
    )


def test_missing_tls_files_are_one_line(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    done = vodflow("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
                   "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(key))  # fmt: skip
    assert done.returncode == 2
    assert one_line_error(done) == f"error: --tls-cert {tmp_path / 'nope.pem'}: no such file."
    # Present but not PEM: still one line, naming both files.
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    done = vodflow("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
                   "--tls-cert", str(cert), "--tls-key", str(key))  # fmt: skip
    assert done.returncode == 2
    assert one_line_error(done).startswith(f"error: --tls-cert {cert} / --tls-key {key} cannot")


def test_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = vodflow("events", "receive", "--port", str(port))
        assert done.returncode == 1
        assert one_line_error(done) == (
            f"error: port {port} on 127.0.0.1 is already in use: pick another --port."
        )
        done = vodflow("serve", "--port", str(port), "--data-dir", str(tmp_path))
        assert done.returncode == 1
        assert one_line_error(done) == (
            f"error: port {port} on 127.0.0.1 is already in use: pick another --port."
        )


def test_second_serve_on_a_data_dir_in_use_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    try:
        assert first.proc is not None
        done = vodflow("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
                       env=KEYS)  # fmt: skip
        assert done.returncode == 1
        line = one_line_error(done)
        assert line == (
            f"error: the data dir {(tmp_path / 'data').resolve()} is in use by vodflow serve "
            f"(pid {first.proc.pid}, http://127.0.0.1:{first.port}): stop it, or give another "
            "--data-dir."
        )
        # The first one is untouched.
        assert first.call("DescribeSubAppIds")["SubAppIdInfoSet"]
    finally:
        first.stop()
    # Once it has stopped, the data dir is free again.
    again = ServerProcess(tmp_path / "data").start()
    again.stop()


def test_urls_are_not_wrapped_when_piped(server: ServerProcess, tmp_path: Path) -> None:
    clip = mediagen.make_video(tmp_path / "a-rather-long-file-name-for-a-long-url.mp4", duration=1)
    done = vodflow("upload", str(clip), "--endpoint", server.url, env={**KEYS,
                   "XDG_CACHE_HOME": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines())
    (info,) = server.call("DescribeMediaInfos", {"FileIds": [lines["FileId"]]})["MediaInfoSet"]
    url = info["BasicInfo"]["MediaUrl"]
    assert len(f"MediaUrl  {url}") > 80
    assert lines["MediaUrl"] == url


def test_ca_bundle_lets_the_cli_trust_a_private_certificate(tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    srv = ServerProcess(tmp_path / "data", args=["--tls-cert", str(cert), "--tls-key", str(key)],
                        scheme="https").start()  # fmt: skip
    try:
        clip = mediagen.make_video(tmp_path / "tls.mp4", duration=1)
        env = {**KEYS, "XDG_CACHE_HOME": str(tmp_path)}
        untrusted = vodflow("upload", str(clip), "--endpoint", srv.url, env=env)
        assert untrusted.returncode == 2
        assert "the server's TLS certificate is not trusted" in one_line_error(untrusted)
        by_flag = vodflow(
            "upload", str(clip), "--endpoint", srv.url, "--ca-bundle", str(ca), env=env
        )
        assert by_flag.returncode == 0, by_flag.stderr
        by_env = vodflow("upload", str(clip), env={**env, "VODFLOW_CA_BUNDLE": str(ca),
                         "VODFLOW_ENDPOINT": srv.url})  # fmt: skip
        assert by_env.returncode == 0, by_env.stderr
        ids = [dict(line.split(None, 1) for line in d.stdout.splitlines())["FileId"]
               for d in (by_flag, by_env)]  # fmt: skip
        sdk = srv.common(certification=str(ca))
        found = sdk.call_json("DescribeMediaInfos", {"FileIds": ids})["Response"]["MediaInfoSet"]
        assert sorted(m["FileId"] for m in found) == sorted(ids)
    finally:
        srv.stop()


def test_make_serve_installs_only_what_serving_needs(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    serving = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    tools = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["optional-dependencies"]["test"]}
    assert {"pytest", "playwright", "hypothesis", "ruff", "mypy", "tccli"} <= tools
    assert not serving & tools
    venv = tmp_path / "venv"
    serve = subprocess.run(["make", "-n", "serve", f"VENV={venv}"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    installs = [line for line in serve.stdout.splitlines() if "pip install" in line]
    assert any(line.endswith("-c requirements.lock -e .") for line in installs), serve.stdout
    assert not any("[test]" in line for line in installs), serve.stdout
    test = subprocess.run(["make", "-n", "test", f"VENV={venv}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert any("-e '.[test]'" in line for line in test.stdout.splitlines()), test.stdout
