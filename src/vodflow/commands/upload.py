"""`vodflow upload FILE`: ApplyUpload, COS PUT or multipart (resumable), CommitUpload.

It goes through the public API exactly as an app would (the VOD SDK plus
cos-python-sdk-v5 pointed at vodflow with `Domain`). An interrupted multipart
upload resumes: the ApplyUpload answer is kept in a small state file keyed by
the file's path, size and mtime (and the endpoint, app, procedure, media type and
name), and the COS SDK finds the parts already sent. The state is dropped as soon
as the session cannot commit any more, so a failed run never traps the next one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vodflow.commands.output import err, fail, out
from vodflow.commands.tasks import (
    CA_BUNDLE,
    DATA_DIR,
    ENDPOINT,
    SECRET_ID,
    SECRET_KEY,
    SUB_APP,
    api,
)

if TYPE_CHECKING:
    from qcloud_cos import CosS3Client

    from vodflow.client import VodApi

# Reuse a saved session only while its credential has this much life left.
MIN_CREDENTIAL_LEFT_S = 300


def state_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vodflow" / "uploads"


# CommitUpload errors after which the same session may still commit: only these
# keep the saved session. Any other answer spent or refused it (a FAILED session's
# credential writes nothing more), so the next run must apply afresh.
RETRYABLE = ("InternalError", "RequestLimitExceeded")
# COS refusals meaning the saved session can no longer be written to.
SESSION_GONE = ("AccessDenied", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken")


def state_path(
    file: Path,
    endpoint: str,
    sub_app_id: int | None,
    procedure: str | None,
    media_type: str,
    name: str,
) -> Path:
    """Where the session of one (file version, endpoint, app, procedure, type, name) is
    remembered: a run with another --media-type or --name never reuses it."""
    stat = file.stat()
    ident = json.dumps(
        [
            str(file.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            endpoint,
            sub_app_id,
            procedure,
            media_type,
            name,
        ]
    )
    return state_dir() / (hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json")


def _retryable(code: str) -> bool:
    return any(code == c or code.startswith(c + ".") for c in RETRYABLE)


def _saved_session(path: Path) -> dict[str, Any] | None:
    try:
        saved = json.loads(path.read_text())
        expires = int(saved["TempCertificate"]["ExpiredTime"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return saved if expires - time.time() > MIN_CREDENTIAL_LEFT_S else None


def _cos(client: VodApi, applied: dict[str, Any]) -> CosS3Client:
    from qcloud_cos import CosConfig, CosS3Client

    cert = applied["TempCertificate"]
    config = CosConfig(
        Region=applied["StorageRegion"],
        SecretId=cert["SecretId"],
        SecretKey=cert["SecretKey"],
        Token=cert["Token"],
        Domain=client.host,
        Scheme=client.scheme,
        VerifySSL=client.verify,
    )
    return CosS3Client(config)


def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    procedure: str = typer.Option(None, help="Run this procedure after the upload."),
    name: str = typer.Option(None, help="MediaName.  [default: the file name without extension]"),
    media_type: str = typer.Option(None, help="MediaType.  [default: the file extension]"),
    part_size: int = typer.Option(8, min=1, max=5120, help="Multipart part size in MB."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    sub_app_id: int = SUB_APP,
    endpoint: str = ENDPOINT,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    data_dir: Path = DATA_DIR,
    ca_bundle: Path = CA_BUNDLE,
) -> None:
    """Upload a media file; print its FileId and URLs."""
    from qcloud_cos.cos_exception import CosClientError, CosServiceError

    from vodflow.client import ClientError, dumps

    logging.getLogger("qcloud_cos").setLevel(logging.WARNING)
    kind = (media_type or file.suffix.lstrip(".")).lower()
    if not kind:
        fail("The file has no extension: give --media-type.")
    media_name = name or file.stem[:64]
    client = api(endpoint, secret_id, secret_key, data_dir, ca_bundle)
    state = state_path(file, client.endpoint, sub_app_id, procedure, kind, media_name)
    sub = {"SubAppId": sub_app_id} if sub_app_id else {}
    try:
        applied = _saved_session(state)
        if applied is None:
            params: dict[str, Any] = {"MediaType": kind, "MediaName": media_name}
            if procedure:
                params["Procedure"] = procedure
            applied = client.call("ApplyUpload", params | sub)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps(applied))
            state.chmod(0o600)
        _send(client, applied, file, part_size, quiet=json_out)
        done = client.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]} | sub)
    except ClientError as exc:
        if not _retryable(exc.code):
            state.unlink(missing_ok=True)
        fail(f"{exc.code}: {exc.message}")
    except CosServiceError as exc:
        code = exc.get_error_code()
        if code in SESSION_GONE:
            state.unlink(missing_ok=True)
            fail(f"upload refused: {code}; the next run starts a new session.", 3)
        fail(f"upload failed: {code}; run the same command again to resume.", 3)
    except CosClientError as exc:
        fail(f"upload failed: {str(exc)[:300]}; run the same command again to resume.", 3)
    state.unlink(missing_ok=True)
    result = {k: v for k, v in done.items() if k != "RequestId"}
    if json_out:
        print(dumps(result))
        return
    console = out()
    console.print(f"FileId    {result['FileId']}")
    console.print(f"MediaUrl  {result['MediaUrl']}")
    if result.get("CoverUrl"):
        console.print(f"CoverUrl  {result['CoverUrl']}")


def _send(
    client: VodApi, applied: dict[str, Any], file: Path, part_size: int, *, quiet: bool
) -> None:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    cos = _cos(client, applied)
    total = file.stat().st_size
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err(), disable=quiet) as progress:
        bar = progress.add_task(file.name[:40], total=total)

        def report(consumed: int, _total: int) -> None:
            progress.update(bar, completed=consumed)

        cos.upload_file(
            Bucket=applied["StorageBucket"],
            Key=applied["MediaStoragePath"],
            LocalFilePath=str(file),
            PartSize=part_size,
            MAXThread=4,
            progress_callback=report,
        )
        progress.update(bar, completed=total)
