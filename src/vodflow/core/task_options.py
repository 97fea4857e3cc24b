"""The options every task request shares, defaulted and checked in this one place.

ProcessMedia, ProcessMediaByProcedure, PullUpload and ApplyUpload (for the flow
its CommitUpload starts) all take TasksPriority, TasksNotifyMode,
SessionContext, SessionId and ExtInfo. The wire models only check JSON types;
`FlowOptions.of` turns the request's optional fields into one checked value,
so the same mistake answers the same code from every action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vodflow.core import limits
from vodflow.errors import VodError
from vodflow.store import tasks as tasks_q
from vodflow.store.db import Writer


@dataclass(frozen=True)
class FlowOptions:
    priority: int = 0
    notify_mode: str = limits.DEFAULT_NOTIFY_MODE
    session_context: str = ""
    session_id: str = ""
    ext_info: str = ""

    @classmethod
    def of(
        cls,
        *,
        priority: int | None = None,
        notify_mode: str | None = None,
        session_context: str | None = None,
        session_id: str | None = None,
        ext_info: str | None = None,
    ) -> FlowOptions:
        """A request's optional fields, defaulted and checked."""
        options = cls(
            priority=priority if priority is not None else 0,
            notify_mode=notify_mode if notify_mode is not None else limits.DEFAULT_NOTIFY_MODE,
            session_context=session_context or "",
            session_id=session_id or "",
            ext_info=ext_info or "",
        )
        options.check()
        return options

    def columns(self) -> dict[str, Any]:
        """The task row's columns these options fill."""
        return {
            "priority": self.priority,
            "notify_mode": self.notify_mode,
            "session_context": self.session_context,
            "session_id": self.session_id,
            "ext_info": self.ext_info,
        }

    def check(self) -> None:
        """Tencent's limits, with Tencent's specific error codes."""
        if not limits.MIN_PRIORITY <= self.priority <= limits.MAX_PRIORITY:
            raise VodError(
                "InvalidParameterValue",
                f"TasksPriority must be between {limits.MIN_PRIORITY} and {limits.MAX_PRIORITY}.",
            )
        if self.notify_mode not in limits.NOTIFY_MODES:
            raise VodError(
                "InvalidParameterValue", "TasksNotifyMode must be Finish, Change or None."
            )
        if len(self.session_context) > limits.MAX_SESSION_CONTEXT:
            raise VodError(
                "InvalidParameterValue.SessionContextTooLong",
                f"SessionContext is longer than {limits.MAX_SESSION_CONTEXT} characters.",
            )
        if len(self.session_id) > limits.MAX_SESSION_ID:
            raise VodError(
                "InvalidParameterValue.SessionIdTooLong",
                f"SessionId is longer than {limits.MAX_SESSION_ID} characters.",
            )


async def claim_session(conn: Writer, app_id: int, session_id: str, task_id: str, t: float) -> None:
    """Record `session_id` for `task_id`; refuse it when it was used in the window."""
    if not session_id:
        return
    found = await tasks_q.session_task(conn, app_id, session_id, t - limits.SESSION_WINDOW_S)
    if found is not None:
        raise VodError(
            "InvalidParameterValue.SessionId",
            "A request with this SessionId was made in the last 3 days "
            f"(task `{found}`); it is not repeated.",
        )
    await tasks_q.put_session(conn, app_id, session_id, task_id, t)
