"""`vodflow tasks watch TASK_ID`: a flow's subtasks as live progress bars.

Polls DescribeTaskDetail through the public API, like any application would.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vodflow.commands.output import fail, out, typer_app

if TYPE_CHECKING:
    from vodflow.client import VodApi

tasks_app = typer_app(help="Task flows: watch their progress.", no_args_is_help=True)

ENDPOINT = typer.Option(
    None,
    help="vodflow endpoint (else VODFLOW_ENDPOINT).  [default: http://127.0.0.1:8080]",
)
SECRET_ID = typer.Option(
    None, help="SecretId, with --secret-key (else VODFLOW_SECRET_ID, else the data dir's)."
)
SECRET_KEY = typer.Option(
    None, help="SecretKey, with --secret-id (else VODFLOW_SECRET_KEY, else the data dir's)."
)
DATA_DIR = typer.Option(
    None, help="Data dir holding the saved credentials.  [default: ./vodflow-data]"
)
CA_BUNDLE = typer.Option(
    None,
    help="PEM file of the CA that signed an HTTPS server's certificate (else VODFLOW_CA_BUNDLE).",
)
SUB_APP = typer.Option(None, help="SubAppId of the application.")


def api(
    endpoint: str | None,
    secret_id: str | None,
    secret_key: str | None,
    data_dir: Path | None,
    ca_bundle: Path | None = None,
) -> VodApi:
    """The SDK client of a CLI command; a one-line error and exit 2 if it cannot be made."""
    if bool(secret_id) != bool(secret_key):
        fail("--secret-id and --secret-key go together: give both, or neither.")
    if not secret_id and bool(os.environ.get("VODFLOW_SECRET_ID")) != bool(
        os.environ.get("VODFLOW_SECRET_KEY")
    ):
        fail("VODFLOW_SECRET_ID and VODFLOW_SECRET_KEY go together: set both, or neither.")
    from vodflow.client import ClientError, VodApi

    try:
        return VodApi(endpoint, secret_id, secret_key, data_dir, ca_bundle=ca_bundle)
    except ClientError as exc:
        fail(f"{exc.code}: {exc.message}")


def _label(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (body,) = [v for k, v in result.items() if k != "Type"]
    definition = (body.get("Input") or {}).get("Definition", "")
    return f"{result['Type']} {definition}", body


def watch_task(
    client: VodApi, task_id: str, sub_app_id: int | None, interval: float = 1.0
) -> dict[str, Any]:
    """Show one bar per subtask until the flow ends; the final DescribeTaskDetail."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    params: dict[str, Any] = {"TaskId": task_id}
    if sub_app_id:
        params["SubAppId"] = sub_app_id
    console = Console(stderr=True)
    bars: dict[int, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        while True:
            detail = client.call("DescribeTaskDetail", params)
            task = detail.get("ProcedureTask") or {}
            for i, result in enumerate(task.get("MediaProcessResultSet") or []):
                label, body = _label(result)
                status = body["Status"]
                if status == "FAIL":
                    status = f"[red]FAIL {body.get('ErrCodeExt', '')}[/]"
                elif status == "SUCCESS":
                    status = "[green]SUCCESS[/]"
                if i not in bars:
                    bars[i] = progress.add_task(label, total=100, status=status)
                progress.update(bars[i], completed=body.get("Progress", 0), status=status)
            if detail["Status"] in ("FINISH", "ABORTED"):
                return detail
            time.sleep(interval)


@tasks_app.command("watch")
def watch(
    task_id: str = typer.Argument(..., help="The TaskId ProcessMedia returned."),
    sub_app_id: int = SUB_APP,
    json_out: bool = typer.Option(False, "--json", help="Print the final task detail as JSON."),
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """Follow a task flow until it ends; exit 1 if a subtask failed or it was aborted."""
    from vodflow.client import ClientError

    client = api(endpoint, secret_id, secret_key, data_dir, ca_bundle)
    try:
        detail = watch_task(client, task_id, sub_app_id)
    except ClientError as exc:
        fail(f"{exc.code}: {exc.message}")
    finish(detail, json_out)


def finish(detail: dict[str, Any], json_out: bool) -> None:
    from vodflow.client import dumps

    console = out()
    if json_out:
        print(dumps(detail))
    task = detail.get("ProcedureTask") or {}
    failed = [
        _label(r)
        for r in task.get("MediaProcessResultSet") or []
        if _label(r)[1]["Status"] == "FAIL"
    ]
    if not json_out:
        console.print(f"{task.get('TaskId', '')}: {detail['Status']}")
        for label, body in failed:
            console.print(f"  [red]{label}[/]: {body.get('ErrCodeExt')} {body.get('Message')}")
    if failed or detail["Status"] == "ABORTED":
        raise typer.Exit(1)
