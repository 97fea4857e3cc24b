"""`vodflow serve`: the whole embedded service in one process."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import typer
import uvicorn
from rich.console import Console
from starlette.applications import Starlette

from vodflow.app import create_app
from vodflow.config import Settings
from vodflow.credentials_file import load_root_credential
from vodflow.http_guard import GuardedServer, connection_cap, guarded_protocol

H11_MAX_HEAD_BYTES = 16 * 1024
"""Largest request head (line and headers); larger ones answer 400."""


def serve(
    host: str = typer.Option(None, help="Address to listen on [default: 127.0.0.1]."),
    port: int = typer.Option(None, help="Port to listen on [default: 8080]."),
    data_dir: Path = typer.Option(None, help="Database, blobs, credentials [./vodflow-data]."),
    tls_cert: Path = typer.Option(None, help="PEM certificate: serve HTTPS."),
    tls_key: Path = typer.Option(None, help="PEM private key of --tls-cert."),
) -> None:
    """Start vodflow: API, uploads, media serving, workers and event delivery."""
    settings = Settings.from_env().with_overrides(
        host=host, port=port, data_dir=data_dir, tls_cert=tls_cert, tls_key=tls_key
    )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise typer.BadParameter("--tls-cert and --tls-key go together.")
    if refusal := settings.scaled_refusal():
        raise typer.BadParameter(refusal)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    root = load_root_credential(settings)
    scheme = "https" if settings.tls_cert else "http"
    console = Console(stderr=True)
    console.print(f"[bold]vodflow[/] serving on {scheme}://{settings.host}:{settings.port}")
    console.print(f"  endpoint      {settings.host}:{settings.port}  (protocol {scheme})")
    console.print(f"  SecretId      {root.secret_id}")
    if root.secret_key == settings.secret_key:  # never echo a key given by environment
        console.print("  SecretKey     (from VODFLOW_SECRET_KEY, not shown)")
    else:
        console.print(f"  SecretKey     {root.secret_key}  (saved in the data dir)")
    console.print(f"  SubAppId      {settings.app_id}  (default application)")
    console.print(f"  public URL    {settings.resolved_public_url}")
    console.print(f"  data dir      {settings.data_dir.resolve()}")
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
    DrainingServer(config, app, settings.drain_s).run()


class DrainingServer(GuardedServer):
    """On the first SIGTERM, answer /healthz 503 for `drain_s` (still serving), then stop."""

    def __init__(self, config: uvicorn.Config, app: Starlette, drain_s: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.drain_s > 0 and not self._draining:
            self._draining = True
            self.app.state.draining = True
            timer = threading.Timer(self.drain_s, super().handle_exit, (sig, frame))
            timer.daemon = True
            timer.start()
            return
        super().handle_exit(sig, frame)
