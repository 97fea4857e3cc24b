"""`vodflow serve`: the whole embedded service in one process."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from pathlib import Path

import typer

from vodflow.commands.output import fail
from vodflow.config import Settings

H11_MAX_HEAD_BYTES = 16 * 1024
"""Largest request head (line and headers); larger ones answer 400."""


def _check_tls(cert: Path | None, key: Path | None) -> None:
    if bool(cert) != bool(key):
        fail("--tls-cert and --tls-key go together.")
    if cert is None or key is None:
        return
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            fail(f"{flag} {path}: no such file.")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        fail(f"--tls-cert {cert} / --tls-key {key} cannot be used: {exc}.")


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use: pick another --port.", 1)
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}.", 1)


def serve(
    host: str = typer.Option(None, help="Address to listen on.  [default: 127.0.0.1]"),
    port: int = typer.Option(None, help="Port to listen on.  [default: 8080]"),
    data_dir: Path = typer.Option(
        None, help="Database, blobs, credentials.  [default: ./vodflow-data]"
    ),
    tls_cert: Path = typer.Option(None, help="PEM certificate: serve HTTPS."),
    tls_key: Path = typer.Option(None, help="PEM private key of --tls-cert."),
    ephemeral: bool = typer.Option(
        False,
        "--ephemeral",
        help="For test suites: a temporary data dir removed at exit, a free port (unless "
        "--port), fresh credentials, loopback NotificationUrls allowed.",
    ),
    print_env: bool = typer.Option(
        False,
        "--print-env",
        help="Once serving, print NAME=value lines (endpoint, credentials) on stdout, "
        "ending with VODFLOW_READY=1.",
    ),
    faults: bool = typer.Option(
        None, "--faults", help="Test-only: enable the fault injection actions (VODFLOW_FAULTS)."
    ),
) -> None:
    """Start vodflow: API, console, uploads, media serving, workers and event delivery."""
    from vodflow.commands import ephemeral as eph

    settings = Settings.from_env().with_overrides(
        host=host,
        port=port,
        data_dir=data_dir,
        tls_cert=tls_cert,
        tls_key=tls_key,
        faults=faults or None,
    )
    if ephemeral:
        if data_dir is not None:
            fail("--ephemeral makes its own data dir: leave out --data-dir.")
        settings = eph.ephemeral_settings(settings, port_given=port is not None)
        eph.exit_on_signals()
        try:
            _serve(settings, print_env)
        finally:
            eph.remove_data_dir(settings.data_dir)
        return
    _serve(settings, print_env)


def _serve(settings: Settings, print_env: bool) -> None:
    from vodflow import instance_lock

    _check_tls(settings.tls_cert, settings.tls_key)
    if refusal := settings.scaled_refusal():
        fail(refusal)
    scheme = "https" if settings.tls_cert else "http"
    if settings.resolved_database_url.startswith("sqlite"):
        try:
            lock = instance_lock.hold(
                settings.data_dir, f"{scheme}://{settings.host}:{settings.port}"
            )
        except instance_lock.DataDirInUse as exc:
            fail(
                f"the data dir {settings.data_dir.resolve()} is in use by {exc.holder}: "
                "stop it, or give another --data-dir.",
                1,
            )
    else:
        lock = None  # replicas of the scaled deployment share one database on purpose
    _check_port(settings.host, settings.port)
    _run(settings, scheme, print_env)
    if lock is not None:
        lock.close()


def _run(settings: Settings, scheme: str, print_env: bool = False) -> None:
    import uvicorn
    from rich.console import Console

    from vodflow.app import create_app
    from vodflow.credentials_file import load_root_credential
    from vodflow.http_guard import DrainingServer, connection_cap, guarded_protocol

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    root = load_root_credential(settings)
    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[bold]vodflow[/] serving on {scheme}://{settings.host}:{settings.port}")
    console.print(f"  endpoint      {settings.host}:{settings.port}  (protocol {scheme})")
    console.print(f"  SecretId      {root.secret_id}")
    if root.secret_key == settings.secret_key:  # never echo a key given by environment
        console.print("  SecretKey     (from VODFLOW_SECRET_KEY, not shown)")
    else:
        console.print(f"  SecretKey     {root.secret_key}  (saved in the data dir)")
    console.print(f"  SubAppId      {settings.app_id}  (default application)")
    console.print(f"  public URL    {settings.resolved_public_url}")
    console.print(f"  console       {settings.resolved_public_url}/console")
    console.print(f"  data dir      {settings.data_dir.resolve()}")
    if settings.faults:
        console.print("  [yellow]faults        ENABLED (test-only: fault injection actions)[/]")
    if settings.test_cheap_media:
        console.print(
            "  [bold red]cheap media   ON: TEST ONLY[/] (VODFLOW_TEST_CHEAP_MEDIA; outputs are "
            "tiny, results report the template's shape)"
        )
    cap = connection_cap(settings.max_connections)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        http=guarded_protocol(settings.header_timeout_s, cap),
        timeout_keep_alive=max(1, round(settings.keep_alive_s)),
        h11_max_incomplete_event_size=H11_MAX_HEAD_BYTES,
        limit_concurrency=cap + 16,
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=False,
    )
    server = DrainingServer(config, app, settings.drain_s)
    if print_env:
        from vodflow.commands.ephemeral import announce_when_started, env_lines

        announce_when_started(server, env_lines(settings, root.secret_id, root.secret_key))()
    server.run()
