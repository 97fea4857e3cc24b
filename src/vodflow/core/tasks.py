"""Reading task flows back: the ProcedureTask of a flow, task details and listings.

Rows hold plain values; wire/task_views.py is the one place that turns them into
Tencent's structures, so DescribeTaskDetail, DescribeTasks and the
ProcedureStateChanged event show exactly the same thing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from vodflow.errors import VodError, invalid_value
from vodflow.store import tasks as q
from vodflow.store.db import Database
from vodflow.wire.task_views import simple_info, task_detail


class TaskQueries:
    """DescribeTaskDetail and DescribeTasks, for every task type the store holds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def detail(self, app_id: int, task_id: str) -> dict[str, Any]:
        return detail_of(await self.detail_source(app_id, task_id))

    async def detail_source(self, app_id: int, task_id: str) -> q.DetailSource:
        """What the task's DescribeTaskDetail answer is made from (`detail_of`): the
        rows as stored, read afresh on every call."""
        async with self.db.read_inline() as conn:  # a hot read: one indexed join
            source = await q.task_detail_source(conn, app_id, task_id)
        if source is None:
            raise VodError(
                "InvalidParameterValue.TaskId", f"The task `{task_id[:128]}` does not exist."
            )
        return source

    async def listing(
        self,
        app_id: int,
        *,
        status: str | None,
        file_id: str | None,
        create_range: tuple[float | None, float | None],
        finish_range: tuple[float | None, float | None],
        sort_field: str,
        descending: bool,
        limit: int,
        scroll_token: str | None,
    ) -> tuple[list[dict[str, Any]], str]:
        after = decode_token(scroll_token, sort_field, descending) if scroll_token else None
        async with self.db.read() as conn:
            rows = await q.search(
                conn,
                app_id,
                status=status,
                file_id=file_id,
                create_range=create_range,
                finish_range=finish_range,
                sort_field=sort_field,
                descending=descending,
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        token = ""
        if more and rows:
            last = rows[-1]
            at = last["create_time"] if sort_field == "CreateTime" else last["finish_time"]
            token = encode_token(at, last["task_id"], sort_field, descending)
        return [simple_info(r) for r in rows], token


def encode_token(at: float, task_id: str, sort_field: str, descending: bool) -> str:
    raw = json.dumps([at, task_id, sort_field, descending], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, sort_field: str, descending: bool) -> tuple[float, str]:
    """The cursor of a ScrollToken; a token of another sort order is refused."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, task_id, field, desc = json.loads(raw)
        if field != sort_field or desc != descending:
            raise ValueError("sort changed")
        return float(at), str(task_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_value("ScrollToken", "not a token this listing returned") from exc


def detail_of(source: q.DetailSource) -> dict[str, Any]:
    """The DescribeTaskDetail answer made from a task's rows (a pure function of them)."""
    return task_detail(*q.task_detail_of(source))
