"""DescribeTaskDetail's remembered answers (api/answer_memo.py) are never stale.

The action reads the task's rows on every call and renders an answer only for rows
it has not rendered before. On a real database, through the API's dispatch: each
answer is byte for byte the one rendered afresh from the rows, it follows every
change of the task and of its subtasks, and a remembered answer is never shown to
another application nor for a task that is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from tests.events_support import running_services
from tests.integration.test_inline_reads import APP, OTHER_APP, _add_detail_tasks, _seed
from tests.servers import SECRET_ID
from vodflow.api import envelope
from vodflow.api.actions import tasks as task_actions
from vodflow.api.server import dispatch
from vodflow.app import Services
from vodflow.errors import VodError
from vodflow.store.schema import subtasks, tasks

RICH = "1250000000-Procedure-rich"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running_services(tmp_path / "data", rate_limit=0) as s:
        await _seed(s.db)
        await _add_detail_tasks(s.db)
        yield s


async def _answer(services: Services, task_id: str, sub_app: int | None = None) -> bytes:
    credential = await services.credentials.lookup(SECRET_ID)
    assert credential is not None
    raw: dict[str, object] = {"TaskId": task_id}
    if sub_app is not None:
        raw["SubAppId"] = sub_app
    try:
        payload = await dispatch(services, credential, "DescribeTaskDetail", raw, "rid")
    except VodError as exc:
        return envelope.error_body(exc.code, exc.message, "rid")
    return envelope.ok_body(payload, "rid")


async def _fresh(services: Services, task_id: str) -> bytes:
    """The answer rendered from the rows now, without any memo."""
    return envelope.ok_body(await services.tasks.detail(APP, task_id), "rid")


async def _set_subtask(services: Services, seq: int, **values: object) -> None:
    async with services.db.tx() as conn:
        stmt = update(subtasks).where(subtasks.c.task_id == RICH, subtasks.c.seq == seq)
        await conn.execute(stmt.values(**values))


async def test_answers_are_those_rendered_afresh(services: Services) -> None:
    for task_id in (RICH, "1250000000-Procedure-empty", "1250000000-PullUpload-one"):
        first = await _answer(services, task_id)
        assert first == await _fresh(services, task_id), task_id
        assert await _answer(services, task_id) == first, task_id  # remembered: the same
        assert envelope.as_dict(
            envelope.RawPayload(first[len(b'{"Response":{') : -len(b',"RequestId":"rid"}}')])
        ) == await services.tasks.detail(APP, task_id)


async def test_every_change_of_the_task_or_a_subtask_shows(services: Services) -> None:
    before = await _answer(services, RICH)
    seen = {before}
    changes = [
        {"progress": 77},  # a processing subtask's progress
        {"status": "SUCCESS", "output": {"Url": "done.jpg", "Size": 2.5}, "finish_time": 1.7e9},
        {"input": {"Definition": 99}},  # a JSON column only
    ]
    for change in changes:
        await _set_subtask(services, 3, **change)
        now = await _answer(services, RICH)
        assert now == await _fresh(services, RICH)
        assert now not in seen, change
        seen.add(now)
    async with services.db.tx() as conn:
        await conn.execute(
            update(tasks).where(tasks.c.task_id == RICH).values(session_context="later")
        )
    later = await _answer(services, RICH)
    assert later == await _fresh(services, RICH) and b'"SessionContext":"later"' in later
    # Back to rows already rendered once: that answer again, as rendering would give.
    async with services.db.tx() as conn:
        await conn.execute(
            update(tasks).where(tasks.c.task_id == RICH).values(session_context='上下文 "ctx"')
        )
    assert await _answer(services, RICH) == await _fresh(services, RICH) in seen


async def test_no_remembered_answer_for_another_application_or_a_gone_task(
    services: Services,
) -> None:
    mine = await _answer(services, RICH)
    assert b'"TaskId":"%s"' % RICH.encode() in mine
    other = await _answer(services, RICH, sub_app=OTHER_APP)
    assert b'"Code":"InvalidParameterValue.TaskId"' in other
    async with services.db.tx() as conn:
        await conn.execute(delete(subtasks).where(subtasks.c.task_id == RICH))
        await conn.execute(delete(tasks).where(tasks.c.task_id == RICH))
    gone = await _answer(services, RICH)
    assert b'"Code":"InvalidParameterValue.TaskId"' in gone


async def test_the_memo_stays_bounded(services: Services) -> None:
    memo = task_actions._DETAILS
    for n in range(memo.max_entries + 40):
        await _set_subtask(services, 3, progress=n % 101, message=f"step {n}")
        assert b'"Status":"PROCESSING"' in await _answer(services, RICH)
        assert len(memo) <= memo.max_entries
    assert len(memo) == memo.max_entries
