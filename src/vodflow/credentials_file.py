"""The root credential: from the settings, or generated once into the data dir."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vodflow import ids
from vodflow.fsmodes import FILE_MODE, private_dir

if TYPE_CHECKING:
    from vodflow.config import Settings
    from vodflow.core.credentials import Credential

FILE_NAME = "credentials.json"


def load_root_credential(settings: Settings) -> Credential:
    # Imported here: the CLI's client commands read the saved keys (read_saved)
    # without loading the store this module's service side needs.
    from vodflow.core.credentials import Credential

    if settings.secret_id and settings.secret_key:
        return Credential(secret_id=settings.secret_id, secret_key=settings.secret_key)
    path = settings.data_dir / FILE_NAME
    if path.exists():
        with contextlib.suppress(OSError):  # written 0644 by older versions
            os.chmod(path, FILE_MODE)
        data = json.loads(path.read_text())
        return Credential(secret_id=data["SecretId"], secret_key=data["SecretKey"])
    cred = Credential(secret_id=ids.secret_id(), secret_key=ids.secret_key())
    _write_private(path, {"SecretId": cred.secret_id, "SecretKey": cred.secret_key})
    return cred


def read_saved(data_dir: Path) -> tuple[str, str] | None:
    """What `vodflow serve` saved, for the CLI's client commands."""
    path = data_dir / FILE_NAME
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data["SecretId"], data["SecretKey"]


def _write_private(path: Path, data: dict[str, str]) -> None:
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
