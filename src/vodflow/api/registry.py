"""Actions by name: each is a request model plus an async handler.

An action module declares itself with `@action`; the server only looks names up
here. The handler's second parameter's annotation is its request model, so a
newcomer reads one function to know what an action takes and returns.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_type_hints

from vodflow.api.envelope import RawPayload
from vodflow.core.credentials import Credential
from vodflow.wire.common import WireModel

if TYPE_CHECKING:
    from vodflow.services import Services


@dataclass(slots=True)
class Context:
    services: Services
    request_id: str
    credential: Credential
    # The application the request acts on (SubAppId or the default one).
    app_id: int


Handler = Callable[[Context, Any], Awaitable[dict[str, Any] | WireModel | RawPayload]]


@dataclass(frozen=True)
class Action:
    name: str
    model: type[WireModel]
    handler: Handler
    # Whether a disabled application may still be named (to re-enable it).
    allow_disabled_app: bool
    # vodflow's own actions, not Tencent's: listed apart in docs/api-coverage.md.
    extension: bool
    # Only the root credential may call it (application management, issuing
    # credentials); temporary ones, scoped or not, answer UnauthorizedOperation.
    root_only: bool = False


ACTIONS: dict[str, Action] = {}


def action(
    name: str | None = None,
    *,
    allow_disabled_app: bool = False,
    extension: bool = False,
    root_only: bool = False,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        action_name = name or fn.__name__
        params = list(inspect.signature(fn).parameters)
        model = get_type_hints(fn)[params[1]]
        if action_name in ACTIONS:
            raise RuntimeError(f"action {action_name} registered twice")
        ACTIONS[action_name] = Action(
            action_name, model, fn, allow_disabled_app, extension, root_only
        )
        return fn

    return register


def load_all() -> dict[str, Action]:
    """Import every action module so that its actions register themselves."""
    import importlib
    import pkgutil

    from vodflow.api import actions

    for info in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"{actions.__name__}.{info.name}")
    return ACTIONS
