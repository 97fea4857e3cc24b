"""Remembered answers (api/answer_memo.py) are never stale: DescribeTaskDetail and
DescribeMediaInfos.

Each action reads its rows on every call and renders an answer only for rows it has
not rendered before. On a real database, through the API's dispatch: each
answer is byte for byte the one rendered afresh from the rows, it follows every
change of the task and its subtasks (of the media, its outputs, subtitles and
class), and a remembered answer is never shown to another application nor for a
task or media that is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.events_support import running_services
from tests.integration.test_inline_reads import (
    APP,
    FILE_IDS,
    OTHER_APP,
    _add_detail_tasks,
    _seed,
)
from tests.servers import SECRET_ID
from vodflow.api import envelope
from vodflow.api.actions import tasks as task_actions
from vodflow.api.registry import load_all
from vodflow.api.server import dispatch
from vodflow.app import Services
from vodflow.errors import VodError
from vodflow.store import media as media_q
from vodflow.store.schema import classes, media, media_outputs, media_subtitles, subtasks, tasks

RICH = "1250000000-Procedure-rich"
load_all()  # the actions dispatch finds, as the app registers them


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


# ---------------------------------------------------------------- DescribeMediaInfos


async def _media(
    services: Services, file_ids: list[str], filters: list[str] | None = None, sub_app: int = APP
) -> bytes:
    credential = await services.credentials.lookup(SECRET_ID)
    assert credential is not None
    raw: dict[str, object] = {"FileIds": file_ids, "SubAppId": sub_app}
    if filters is not None:
        raw["Filters"] = filters
    payload = await dispatch(services, credential, "DescribeMediaInfos", raw, "rid")
    return envelope.ok_body(payload, "rid")


async def _media_fresh(
    services: Services, file_ids: list[str], filters: list[str] | None = None
) -> bytes:
    found, missing = await services.library.describe(
        APP, file_ids, set(filters) if filters else None
    )
    return envelope.ok_body({"MediaInfoSet": found, "NotExistFileIdSet": missing}, "rid")


MEDIA_ASKS: list[tuple[list[str], list[str] | None]] = [
    ([FILE_IDS[0]], None),
    (FILE_IDS, None),
    ([FILE_IDS[2], "nope", FILE_IDS[0], FILE_IDS[2]], None),
    (["nope", "other"], None),
    (FILE_IDS, ["basicInfo"]),
    ([FILE_IDS[0]], ["transcodeInfo", "subtitleInfo", "metaData"]),
]


async def test_media_infos_are_those_rendered_afresh(services: Services) -> None:
    for file_ids, filters in MEDIA_ASKS:
        first = await _media(services, file_ids, filters)
        assert first == await _media_fresh(services, file_ids, filters), (file_ids, filters)
        assert await _media(services, file_ids, filters) == first
    assert b'"SubtitleSet":[{"Id":"b"' in await _media(services, [FILE_IDS[0]])


async def test_every_change_of_a_media_shows(services: Services) -> None:
    async def changed(change: Callable[[AsyncConnection], Awaitable[object]]) -> bytes:
        before = await _media(services, FILE_IDS)
        async with services.db.tx() as conn:
            await change(conn)
        now = await _media(services, FILE_IDS)
        assert now == await _media_fresh(services, FILE_IDS)
        assert now != before
        return now

    await changed(lambda c: media_q.modify(c, APP, FILE_IDS[1], name="renamed"))
    await changed(
        lambda c: c.execute(
            update(media).where(media.c.file_id == FILE_IDS[1]).values(meta={"Duration": 9.5})
        )
    )
    await changed(
        lambda c: media_q.upsert_output(
            c, file_id=FILE_IDS[2], kind="Transcode", definition=30,
            info={"Url": "u30", "Size": 30}, blob_keys=["k30"],
        )
    )  # fmt: skip
    now = await changed(
        lambda c: c.execute(
            update(media_outputs)
            .where(media_outputs.c.file_id == FILE_IDS[2])
            .values(info={"Url": "u30", "Size": 31})
        )
    )
    assert b'"TranscodeInfo":{"TranscodeSet":[{"Url":"u30","Size":31}]}' in now
    await changed(
        lambda c: c.execute(
            update(media_subtitles).where(media_subtitles.c.subtitle_id == "a").values(name="n")
        )
    )
    # Only a class's name changes: its media's BasicInfo shows the new name.
    now = await changed(
        lambda c: c.execute(update(classes).where(classes.c.name == "child").values(name="kid"))
    )
    assert "电影-kid".encode() in now


async def test_media_infos_of_another_application_or_gone(services: Services) -> None:
    assert b'"NotExistFileIdSet":[]' in await _media(services, FILE_IDS)
    other = await _media(services, FILE_IDS, sub_app=OTHER_APP)
    assert b'"MediaInfoSet":[],"NotExistFileIdSet":["%s"' % FILE_IDS[0].encode() in other
    async with services.db.tx() as conn:
        await conn.execute(delete(media).where(media.c.file_id == FILE_IDS[0]))
    gone = await _media(services, FILE_IDS)
    assert gone == await _media_fresh(services, FILE_IDS)
    assert b'"NotExistFileIdSet":["%s"]' % FILE_IDS[0].encode() in gone


async def test_media_infos_follow_the_public_url(tmp_path: Path) -> None:
    """The memo is shared by every Services of the process: the public URL is part of
    what an answer is made from."""
    answers = []
    for url in ("http://one.example", "http://two.example"):
        async with running_services(tmp_path / "data", rate_limit=0, public_url=url) as s:
            if not answers:
                await _seed(s.db)
            answers.append(await _media(s, [FILE_IDS[0]]))
            assert answers[-1] == await _media_fresh(s, [FILE_IDS[0]])
            assert url.encode() in answers[-1]
    assert answers[0] != answers[1]
