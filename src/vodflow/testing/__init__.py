"""vodflow for application test suites.

In pytest the plugin (`vodflow.testing.plugin`, registered through the `pytest11` entry
point) gives `vodflow_*` fixtures. Elsewhere (unittest, scripts):

    from vodflow.testing import VodflowServer, make_clip

    with VodflowServer() as server:
        app = server.new_app()
        file_id = app.upload(make_clip("clip.mp4"))["FileId"]

Other languages run `vodflow serve --ephemeral --print-env` (docs/testing-your-app.md).
"""

from __future__ import annotations

from vodflow.testing.app import VodflowApp
from vodflow.testing.clips import make_clip
from vodflow.testing.events import Delivery, EventTimeout, PullWaiter, PushReceiver
from vodflow.testing.faults import Faults
from vodflow.testing.server import TEST_SPEED_ENV, ServerFailed, VodflowServer

__all__ = [
    "TEST_SPEED_ENV",
    "Delivery",
    "EventTimeout",
    "Faults",
    "PullWaiter",
    "PushReceiver",
    "ServerFailed",
    "VodflowApp",
    "VodflowServer",
    "make_clip",
]
