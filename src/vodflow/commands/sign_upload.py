"""`vodflow sign-upload`: print a client upload signature, as an app's server issues them.

For trying a web page or a phone app against vodflow: the signature goes to
vod-js-sdk-v6's `getSignature` (or a mobile UGC SDK). Signed locally with the
SecretKey; nothing is sent to the server.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from vodflow.commands.output import fail
from vodflow.commands.tasks import DATA_DIR, SECRET_ID, SECRET_KEY
from vodflow.credentials_file import read_saved
from vodflow.upload_signature import MAX_VALIDITY_S, sign


def sign_upload(
    procedure: str = typer.Option(None, help="Task flow to run after the upload commits."),
    expire_in: int = typer.Option(3600, help=f"Validity in seconds (at most {MAX_VALIDITY_S})."),
    class_id: int = typer.Option(None, help="Category of the media."),
    sub_app_id: int = typer.Option(None, help="Application (vodSubAppId)."),
    one_time: bool = typer.Option(False, "--one-time", help="Valid for one request only."),
    source_context: str = typer.Option(None, help="Echoed in NewFileUpload (<= 250 chars)."),
    session_context: str = typer.Option(None, help="Echoed in ProcedureStateChanged."),
    task_priority: int = typer.Option(None, help="Priority of the flow, -10..10."),
    task_notify_mode: str = typer.Option(None, help="Finish, Change or None."),
    storage_region: str = typer.Option(None, help="Storage region (vodflow has ap-local)."),
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
) -> None:
    """Print a client upload signature (Tencent's format) for browsers and phones."""
    if bool(secret_id) != bool(secret_key):
        fail("--secret-id and --secret-key go together: give both, or neither.")
    secret_id = secret_id or os.environ.get("VODFLOW_SECRET_ID", "")
    secret_key = secret_key or os.environ.get("VODFLOW_SECRET_KEY", "")
    if not (secret_id and secret_key):
        saved = read_saved(data_dir or Path(os.environ.get("VODFLOW_DATA_DIR", "vodflow-data")))
        if saved is None:
            fail(
                "AuthFailure.SecretIdNotFound: pass --secret-id/--secret-key, set "
                "VODFLOW_SECRET_ID and VODFLOW_SECRET_KEY, or run beside vodflow-data/."
            )
        secret_id, secret_key = saved
    if not 0 < expire_in <= MAX_VALIDITY_S:
        fail(f"--expire-in must be 1..{MAX_VALIDITY_S} seconds.")
    typer.echo(
        sign(
            secret_id,
            secret_key,
            expire_in=expire_in,
            procedure=procedure,
            class_id=class_id,
            sub_app_id=sub_app_id,
            one_time_valid=one_time,
            source_context=source_context,
            session_context=session_context,
            task_priority=task_priority,
            task_notify_mode=task_notify_mode,
            storage_region=storage_region,
        )
    )
