"""What the helpers need of a server or an application: narrow protocols, so the
modules of this package import one way (server -> app -> events, faults)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tencentcloud.vod.v20180717.vod_client import VodClient


class Caller(Protocol):
    """Calls an action (in one application) and answers its Response."""

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...


class Endpoint(Caller, Protocol):
    """A running server: where it is and its root credential."""

    @property
    def host(self) -> str: ...

    @property
    def scheme(self) -> str: ...

    @property
    def secret_id(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    def vod(self, **http: Any) -> VodClient: ...
