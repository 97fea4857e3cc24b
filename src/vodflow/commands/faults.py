"""`vodflow faults create|list|delete`: fault injection rules of a server started with
`--faults` (test-only), through the same extension actions a test calls with an SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from vodflow.commands.output import fail, out, typer_app
from vodflow.commands.tasks import (
    CA_BUNDLE,
    DATA_DIR,
    ENDPOINT,
    SECRET_ID,
    SECRET_KEY,
    SUB_APP,
    api,
)

faults_app = typer_app(
    help="Fault injection rules (test-only; the server must run with --faults).",
    no_args_is_help=True,
)


def _call(
    action: str,
    params: dict[str, Any],
    sub_app_id: int | None,
    endpoint: str | None,
    secret_id: str | None,
    secret_key: str | None,
    data_dir: Path | None,
    ca_bundle: Path | None,
) -> dict[str, Any]:
    from vodflow.client import ClientError

    client = api(endpoint, secret_id, secret_key, data_dir, ca_bundle)
    if sub_app_id:
        params["SubAppId"] = sub_app_id
    try:
        return client.call(action, {k: v for k, v in params.items() if v is not None})
    except ClientError as exc:
        fail(f"{exc.code}: {exc.message}")


@faults_app.command()
def create(
    kind: str = typer.Argument(..., help="SubtaskFail, PushDrop, ApiError... (see the docs)."),
    file_id: str = typer.Option(None, help="Match: the media's FileId."),
    subtask_kind: str = typer.Option(None, help="Match: Transcode, SnapshotByTimeOffset..."),
    definition: int = typer.Option(None, help="Match: the subtask's template Definition."),
    event_type: str = typer.Option(None, help="Match: NewFileUpload, ProcedureStateChanged..."),
    notification_url: str = typer.Option(None, help="Match: the PUSH NotificationUrl."),
    action: str = typer.Option(None, help="Match (ApiError): the API action."),
    count: int = typer.Option(None, help="Fire for the next N matches only."),
    probability: float = typer.Option(None, help="Fire with this probability (0-1)."),
    seed: int = typer.Option(None, help="Seed of --probability's draws (repeatable runs)."),
    expire_seconds: float = typer.Option(None, help="The rule ends after this."),
    err_code: int = typer.Option(None, help="SubtaskFail: 40000, 60000 or 70000."),
    err_code_ext: str = typer.Option(None, help="SubtaskFail: e.g. SourceFileError."),
    message: str = typer.Option(None, help="SubtaskFail / *UploadFail / ApiError: the message."),
    progress: int = typer.Option(None, help="SubtaskStall: the progress it stalls at."),
    seconds: float = typer.Option(None, help="SubtaskStall / SubtaskSlow: seconds."),
    factor: float = typer.Option(None, help="SubtaskSlow: the run takes this many times longer."),
    delay_seconds: float = typer.Option(None, help="PushDelay / PushReorder: seconds."),
    code: str = typer.Option(None, help="*UploadFail / ApiError: the error code answered."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """CreateFaultRule: print the new RuleId."""
    params = {
        "Kind": kind,
        "FileId": file_id,
        "SubtaskKind": subtask_kind,
        "Definition": definition,
        "EventType": event_type,
        "NotificationUrl": notification_url,
        "Action": action,
        "Count": count,
        "Probability": probability,
        "Seed": seed,
        "ExpireSeconds": expire_seconds,
        "ErrCode": err_code,
        "ErrCodeExt": err_code_ext,
        "Message": message,
        "Progress": progress,
        "Seconds": seconds,
        "Factor": factor,
        "DelaySeconds": delay_seconds,
        "Code": code,
    }
    got = _call(
        "CreateFaultRule", params, sub_app_id, endpoint, secret_id, secret_key, data_dir, ca_bundle
    )
    out().print(got["RuleId"])


@faults_app.command(name="list")
def list_rules(
    rule_ids: list[str] = typer.Argument(None, help="Only these rules (default: all)."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """DescribeFaultRules: the rules and what fired, as JSON."""
    params: dict[str, Any] = {"RuleIds": rule_ids or None}
    got = _call(
        "DescribeFaultRules",
        params,
        sub_app_id,
        endpoint,
        secret_id,
        secret_key,
        data_dir,
        ca_bundle,
    )
    got.pop("RequestId", None)
    out().print(json.dumps(got, indent=2, ensure_ascii=False))


@faults_app.command()
def delete(
    rule_ids: list[str] = typer.Argument(None, help="These rules (default: every rule)."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """DeleteFaultRules: these rules, or every rule of the application (and its FiredSet)."""
    params: dict[str, Any] = {"RuleIds": rule_ids or None}
    _call(
        "DeleteFaultRules",
        params,
        sub_app_id,
        endpoint,
        secret_id,
        secret_key,
        data_dir,
        ca_bundle,
    )
