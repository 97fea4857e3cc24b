"""vodflow extension: temporary API credentials (X-TC-Token), STS-shaped."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vodflow.wire.common import Int, Request


class CreateTempCredentialRequest(Request):
    """With SubAppId, the credential acts on that application only."""

    DurationSeconds: Annotated[Int, Field(ge=60, le=43200)] = 1800
