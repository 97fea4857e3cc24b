"""`vodflow process FILE_ID (--procedure NAME | --transcode DEF ... | --cover DEF) [--watch]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vodflow.commands.output import fail
from vodflow.commands.tasks import (
    CA_BUNDLE,
    DATA_DIR,
    ENDPOINT,
    SECRET_ID,
    SECRET_KEY,
    SUB_APP,
    api,
    finish,
    watch_task,
)


def process(
    file_id: str = typer.Argument(..., help="The media to process."),
    procedure: str = typer.Option(None, help="Run this procedure template."),
    transcode: list[int] = typer.Option(None, help="Transcode template id (repeatable)."),
    cover: int = typer.Option(None, help="Take the cover with this snapshot template id."),
    cover_at: float = typer.Option(0.0, help="Cover position in seconds."),
    priority: int = typer.Option(0, min=-10, max=10, help="TasksPriority, -10..10."),
    notify: str = typer.Option(
        None, help="TasksNotifyMode: Finish, Change or None.  [default: Finish]"
    ),
    watch: bool = typer.Option(False, "--watch", help="Show progress bars until the flow ends."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """Start a task flow on a media (ProcessMedia or ProcessMediaByProcedure)."""
    if bool(procedure) == bool(transcode or cover is not None):
        fail("Give either --procedure, or --transcode/--cover.")
    params: dict[str, Any] = {
        "FileId": file_id,
        "TasksPriority": priority,
    }
    if notify is not None:
        params["TasksNotifyMode"] = notify
    if sub_app_id:
        params["SubAppId"] = sub_app_id
    if procedure:
        action = "ProcessMediaByProcedure"
        params["ProcedureName"] = procedure
    else:
        action = "ProcessMedia"
        mpt: dict[str, Any] = {}
        if transcode:
            mpt["TranscodeTaskSet"] = [{"Definition": d} for d in transcode]
        if cover is not None:
            mpt["CoverBySnapshotTaskSet"] = [
                {"Definition": cover, "PositionType": "Time", "PositionValue": cover_at}
            ]
        params["MediaProcessTask"] = mpt
    from vodflow.client import ClientError

    client = api(endpoint, secret_id, secret_key, data_dir, ca_bundle)
    try:
        task_id = client.call(action, params)["TaskId"]
        print(task_id)
        if watch:
            finish(watch_task(client, task_id, sub_app_id), json_out=False)
    except ClientError as exc:
        fail(f"{exc.code}: {exc.message}")
