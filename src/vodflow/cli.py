"""The `vodflow` command: serve, and client commands that use the public API.

Each command module imports only typer at load time; the server, the SDK and rich
load inside the command that needs them, so `vodflow --help` stays fast.
"""

from __future__ import annotations

import typer

from vodflow import __version__
from vodflow.commands.events import events_app
from vodflow.commands.faults import faults_app
from vodflow.commands.output import typer_app
from vodflow.commands.process import process
from vodflow.commands.serve import serve
from vodflow.commands.sign_upload import sign_upload
from vodflow.commands.tasks import tasks_app
from vodflow.commands.upload import upload
from vodflow.commands.worker import worker

app = typer_app(
    name="vodflow", help="Self-hosted Tencent Cloud VOD task flows.", no_args_is_help=True
)


def _version(value: bool) -> None:
    if value:
        print(f"vodflow {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="Print the version and exit."
    ),
) -> None:
    """Self-hosted Tencent Cloud VOD task flows."""


app.command()(serve)
app.command()(process)
app.command()(upload)
app.command(name="sign-upload")(sign_upload)
app.command()(worker)
app.add_typer(tasks_app, name="tasks")
app.add_typer(events_app, name="events")
app.add_typer(faults_app, name="faults")

if __name__ == "__main__":
    app()
