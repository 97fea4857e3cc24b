"""Inline SQLite reads (store/inline.py) answer exactly what the SQLAlchemy path answers.

The hot read actions read through `Database.read_inline`: on SQLite the store's own
statements run on a plain sqlite3 connection. Every store read they use is run
both ways on the same real database (rows with JSON columns, NULLs, expanding IN
lists, empty results) and must return equal values of equal types; the snapshot
and error behaviour of a read transaction is checked on real concurrent writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.events_support import emit_many, running_services
from vodflow.app import Services
from vodflow.core.classes import name_classes
from vodflow.notify import pull
from vodflow.store import apps as apps_q
from vodflow.store import classes as classes_q
from vodflow.store import credentials as cred_q
from vodflow.store import events as events_q
from vodflow.store import media as media_q
from vodflow.store import subtitles as subtitles_q
from vodflow.store import tasks as tasks_q
from vodflow.store.db import Database, Reader
from vodflow.store.inline import InlineReader, decode_json
from vodflow.store.schema import media
from vodflow.wire.task_views import task_detail

APP = 1250000000
OTHER_APP = 1500000001
T = 1_700_000_000.25


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running_services(tmp_path / "data") as s:
        await _seed(s.db)
        yield s


async def _seed(db: Database) -> None:
    async with db.tx() as conn:
        await apps_q.create(
            conn, id=OTHER_APP, name="other", description="", create_time=T, update_time=T
        )
        parent = await classes_q.add(
            conn, app_id=APP, parent_id=-1, name="电影", level=1, create_time=T
        )
        child = await classes_q.add(
            conn, app_id=APP, parent_id=parent, name="child", level=2, create_time=T
        )
        for n, class_id in ((1, child), (2, 0), (3, parent)):
            await media_q.add(
                conn,
                file_id=f"52858907988664015{n:02d}",
                app_id=APP,
                name=f"clip {n} — ünïcode",
                type="mp4",
                class_id=class_id,
                blob_key=f"{APP}/f{n}/clip.mp4",
                url_token=f"tok{n}",
                size=1000 + n,
                md5="0" * 32,
                meta={"Duration": 1.5 * n, "VideoStreamSet": [{"Height": 480}]} if n != 2 else None,
                source_info={"SourceType": "Upload"},
                create_time=T + n,
                update_time=T + n,
                expire_time=None if n != 3 else T + 86400,
            )
        for definition in (20, 10):
            await media_q.upsert_output(
                conn,
                file_id="5285890798866401501",
                kind="transcode",
                definition=definition,
                info={"Url": f"u{definition}", "Size": definition},
                blob_keys=[f"k{definition}"],
            )
        await subtitles_q.add(
            conn,
            [
                {
                    "file_id": "5285890798866401501",
                    "subtitle_id": sid,
                    "name": f"字幕 {sid}",
                    "language": "zh-CN",
                    "format": "vtt",
                    "blob_key": f"{APP}/f1/{sid}.vtt",
                    "size": 100,
                    "create_time": T,
                }
                for sid in ("b", "a")
            ],
        )
        await cred_q.add(
            conn,
            secret_id="AKIDtemp0001",
            secret_key="k" * 32,
            token="sha256:" + "a" * 64,
            scope="api",
            app_id=APP,
            session_key=None,
            expires_at=T + 3600,
            create_time=T,
        )
        await tasks_q.add_task(
            conn,
            task_id="1250000000-Procedure-abc",
            app_id=APP,
            type="Procedure",
            status="PROCESSING",
            file_id="5285890798866401501",
            session_context="ctx",
            input={"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 10}]}},
            create_time=T,
            begin_time=T + 1,
        )
        await tasks_q.add_subtasks(
            conn,
            [
                {
                    "task_id": "1250000000-Procedure-abc",
                    "seq": seq,
                    "type": "Transcode",
                    "input": {"Definition": seq},
                    "status": "FINISH" if seq == 0 else "WAITING",
                    "output": {"Url": "x"} if seq == 0 else None,
                    "create_time": T,
                }
                for seq in (1, 0)
            ],
        )


async def _both(db: Database, read: Any) -> tuple[Any, Any]:
    """`read(conn)` through aiosqlite (Database.read) and inline (read_inline)."""
    async with db.read() as conn:
        via_sqlalchemy = await read(conn)
    async with db.read_inline() as inline:
        assert isinstance(inline, InlineReader)
        via_inline = await read(inline)
    return via_sqlalchemy, via_inline


def _typed(value: Any, leave_out: frozenset[str] | set[str] = frozenset()) -> Any:
    """The value with the type of every leaf, so 1 and 1.0 or '1' never compare equal
    (without the keys `leave_out`)."""
    if isinstance(value, dict):
        return {k: _typed(v, leave_out) for k, v in value.items() if k not in leave_out}
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_typed(v, leave_out) for v in value]]
    return (type(value).__name__, value)


FILE_IDS = ["5285890798866401501", "5285890798866401502", "5285890798866401503"]


def _reads() -> dict[str, Any]:
    """Every store read of the hot actions, on the seeded data (hits, misses, lists)."""
    file_ids = FILE_IDS
    return {
        "count_to_pull": lambda c: events_q.count_to_pull(c, APP),
        "count_to_pull (none)": lambda c: events_q.count_to_pull(c, OTHER_APP),
        "count_to_pull (upto 3)": lambda c: events_q.count_to_pull(c, APP, upto=3),
        "count_to_pull (upto 100)": lambda c: events_q.count_to_pull(c, APP, upto=100),
        "apps.get": lambda c: apps_q.get(c, APP),
        "apps.get (unknown)": lambda c: apps_q.get(c, 42),
        "credentials.get": lambda c: cred_q.get(c, "AKIDtemp0001"),
        "credentials.get (unknown)": lambda c: cred_q.get(c, "AKIDnone"),
        "tasks.get_task": lambda c: tasks_q.get_task(c, APP, "1250000000-Procedure-abc"),
        "tasks.get_task (other app)": lambda c: tasks_q.get_task(
            c, OTHER_APP, "1250000000-Procedure-abc"
        ),
        "tasks.subtasks_of": lambda c: tasks_q.subtasks_of(c, "1250000000-Procedure-abc"),
        "tasks.subtasks_of (none)": lambda c: tasks_q.subtasks_of(c, "nope"),
        "tasks.task_detail_rows": lambda c: tasks_q.task_detail_rows(
            c, APP, "1250000000-Procedure-abc"
        ),
        "tasks.task_detail_rows (other app)": lambda c: tasks_q.task_detail_rows(
            c, OTHER_APP, "1250000000-Procedure-abc"
        ),
        "media.get_many (one)": lambda c: media_q.get_many(c, APP, file_ids[:1]),
        "media.get_many (all, unknown, repeated)": lambda c: media_q.get_many(
            c, APP, [*file_ids, "nope", file_ids[0]]
        ),
        "media.get_many (other app)": lambda c: media_q.get_many(c, OTHER_APP, file_ids),
        "media.outputs_many": lambda c: media_q.outputs_many(c, file_ids),
        "classes.all_of": lambda c: classes_q.all_of(c, APP),
        "subtitles.of_many": lambda c: subtitles_q.of_many(c, file_ids),
    }


async def _emit_and_confirm_two(services: Services) -> None:
    await emit_many(services, 7)
    async with services.db.tx() as conn:  # some events confirmed: not all count
        await conn.execute(
            events_q.pull_leases.update()
            .where(events_q.L.event_id <= 2)
            .values(confirmed_at=T, visible_at=None)
        )


async def test_each_hot_read_returns_the_same_both_ways(services: Services) -> None:
    db = services.db
    await _emit_and_confirm_two(services)
    file_ids = FILE_IDS
    reads = _reads()
    for name, read in reads.items():
        via_sqlalchemy, via_inline = await _both(db, read)
        assert _typed(via_inline) == _typed(via_sqlalchemy), name
    count, _ = await _both(db, lambda c: events_q.count_to_pull(c, APP))
    assert count == 5
    assert (await _both(db, lambda c: events_q.count_to_pull(c, APP, upto=3)))[1] == 3
    subs, _ = await _both(db, lambda c: subtitles_q.of_many(c, file_ids))
    assert [r["subtitle_id"] for r in subs[file_ids[0]]] == ["b", "a"]
    rows, _ = await _both(db, lambda c: media_q.get_many(c, APP, file_ids))
    meta = rows[file_ids[0]]["meta"]  # JSON as its stored text, decoded as JSON columns are
    assert decode_json(meta)["VideoStreamSet"] == [{"Height": 480}] and isinstance(meta, str)

    async def named(c: Reader) -> list[tuple[str, str]]:
        got = await media_q.get_many(c, APP, file_ids)
        rows = [got[f] for f in file_ids]
        await name_classes(c, APP, rows)
        return [(r["class_name"], r["class_path"]) for r in rows]

    via_sqlalchemy, via_inline = await _both(db, named)
    assert (
        via_inline
        == via_sqlalchemy
        == [("child", "电影-child"), ("其他", "其他"), ("电影", "电影")]
    )


async def test_a_statement_not_prepared_is_compiled_for_the_call(services: Services) -> None:
    stmt = select(media.c.file_id, media.c.meta).where(media.c.size > 1001).order_by(media.c.size)

    async def read(c: Reader) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (await c.execute(stmt)).all()]

    via_sqlalchemy, via_inline = await _both(services.db, read)
    assert via_inline == via_sqlalchemy
    assert [r[0] for r in via_inline] == ["5285890798866401502", "5285890798866401503"]
    # Values written into the statement: an IN list and a LIMIT.
    listed = (
        select(media.c.file_id)
        .where(media.c.file_id.in_(["5285890798866401503", "5285890798866401501", "x"]))
        .order_by(media.c.file_id.desc())
        .limit(1)
    )

    async def read_listed(c: Reader) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (await c.execute(listed)).all()]

    via_sqlalchemy, via_inline = await _both(services.db, read_listed)
    assert via_inline == via_sqlalchemy == [("5285890798866401503",)]


async def test_in_lists_of_each_length_get_their_own_sql(services: Services) -> None:
    """A prepared statement's SQL is kept per IN-list length: lengths in turn, and
    back, each answer only its own FileIds."""
    ids = ["5285890798866401501", "5285890798866401502", "5285890798866401503"]
    for wanted in ([ids[0], ids[1]], [ids[2]], [ids[1], "none"], [ids[0]], ids, []):
        via_sqlalchemy, via_inline = await _both(
            services.db, lambda c, w=wanted: media_q.get_many(c, APP, w)
        )
        assert _typed(via_inline) == _typed(via_sqlalchemy)
        assert sorted(via_inline) == sorted(set(wanted) & set(ids))


async def test_the_api_reads_the_same_answers(services: Services) -> None:
    """The services the actions call, inline (as served) and with inline reads off."""
    file_ids = ["5285890798866401501", "5285890798866401502", "nope"]

    async def answers() -> list[Any]:
        return [
            await services.tasks.detail(APP, "1250000000-Procedure-abc"),
            await services.library.describe(APP, file_ids, None),
            await services.events.queue.count(APP),
            await services.apps.resolve(None),
            await services.credentials.lookup("AKIDtemp0001"),
        ]

    inline = await answers()
    services.db._inline_path = None  # read_inline falls back to Database.read
    services.apps._status.clear()
    assert await answers() == inline


async def _add_detail_tasks(db: Database) -> list[str]:
    """Tasks of each shape DescribeTaskDetail answers (besides the seeded Procedure)."""
    rich = "1250000000-Procedure-rich"
    async with db.tx() as conn:
        await tasks_q.add_task(
            conn, task_id=rich, app_id=APP, type="Procedure", status="FINISH",
            file_id=FILE_IDS[0], priority=5, notify_mode="Change", session_id="s-1",
            session_context="上下文 \"ctx\"", err_code=0, message="",
            input={"FileName": "clip — ü", "FileUrl": "http://h/x.mp4",
                   "MetaData": {"Duration": 2.0, "Size": 7, "Rotate": 0.5e-7}},
            create_time=T, begin_time=T + 0.5, finish_time=T + 9.125,
        )  # fmt: skip
        await tasks_q.add_subtasks(
            conn,
            [
                {
                    "task_id": rich, "seq": seq, "type": kind, "input": {"Definition": seq},
                    "status": status, "progress": 40 + seq, "err_code": 60000 if seq else 0,
                    "err_code_ext": "SourceFileError.X" if seq else "", "message": "m",
                    "output": {"Url": f"u{seq}", "Size": 1.5} if seq % 2 == 0 else None,
                    "create_time": T, "begin_time": T + seq, "finish_time": None,
                }
                for seq, (kind, status) in enumerate(
                    [("Transcode", "SUCCESS"), ("SampleSnapshot", "FAIL"),
                     ("CoverBySnapshot", "ABORTED"), ("ImageSprites", "PROCESSING"),
                     ("AnimatedGraphics", "WAITING")]
                )
            ][::-1],
        )  # fmt: skip
        await tasks_q.add_task(
            conn, task_id="1250000000-Procedure-empty", app_id=APP, type="Procedure",
            status="WAITING", file_id=None, input=None, create_time=T,
        )  # fmt: skip
        await tasks_q.add_task(
            conn, task_id="1250000000-PullUpload-one", app_id=APP, type="PullUpload",
            status="FINISH", file_id=FILE_IDS[1], input={"MediaUrl": "http://h/y"},
            output={"FileId": FILE_IDS[1], "MediaBasicInfo": {"Name": "y"}},
            create_time=T, begin_time=T + 1, finish_time=T + 2,
        )  # fmt: skip
        # Not a Procedure: any subtask rows it had would not be shown.
        await tasks_q.add_subtasks(
            conn,
            [{"task_id": "1250000000-PullUpload-one", "seq": 0, "type": "Transcode",
              "input": {}, "create_time": T}],
        )  # fmt: skip
    return [rich, "1250000000-Procedure-empty", "1250000000-PullUpload-one"]


async def test_task_detail_is_the_answer_of_the_task_and_its_subtasks(
    services: Services,
) -> None:
    """DescribeTaskDetail reads the task and its subtasks in one joined statement: its
    answer is the one built from the whole rows of both (`get_task`, `subtasks_of`),
    byte for byte, inline and through SQLAlchemy."""
    task_ids = ["1250000000-Procedure-abc", *await _add_detail_tasks(services.db)]
    for task_id in task_ids:
        async with services.db.read() as conn:
            task = await tasks_q.get_task(conn, APP, task_id)
            assert task is not None
            subtasks = await tasks_q.subtasks_of(conn, task_id)
        shown = subtasks if task["type"] == "Procedure" else []
        expected = json.dumps(task_detail(task, shown), ensure_ascii=False)
        via_sqlalchemy, via_inline = await _both(
            services.db, lambda c, t=task_id: tasks_q.task_detail_rows(c, APP, t)
        )
        assert _typed(via_inline) == _typed(via_sqlalchemy), task_id
        assert json.dumps(task_detail(*via_inline), ensure_ascii=False) == expected, task_id
        answer = await services.tasks.detail(APP, task_id)
        assert json.dumps(answer, ensure_ascii=False) == expected, task_id
    assert len(via_inline[1]) == 0  # the PullUpload's subtask row is not read
    rich = await services.tasks.detail(APP, task_ids[1])
    results = rich["ProcedureTask"]["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == [
        "Transcode", "SampleSnapshot", "CoverBySnapshot", "ImageSprites", "AnimatedGraphics"
    ]  # fmt: skip
    for absent in await _both(services.db, lambda c: tasks_q.task_detail_rows(c, APP, "no")):
        assert absent is None
    async with services.db.read_inline() as inline:  # one statement: no BEGIN/ROLLBACK
        assert isinstance(inline, InlineReader)
        await tasks_q.task_detail_rows(inline, APP, task_ids[1])
        assert not inline.conn.in_transaction
        await tasks_q.get_task(inline, APP, task_ids[1])  # the next statement begins one
        assert inline.conn.in_transaction


async def test_media_infos_are_the_answers_of_the_whole_rows(services: Services) -> None:
    """DescribeMediaInfos reads only the columns a MediaInfo shows, and the outputs and
    subtitles only of media that have some: its answer is the one built from the whole
    rows (a media with outputs, subtitles and a class; one with none of them; one
    in another class), byte for byte, inline and with inline reads off."""
    library = services.library
    async with services.db.tx() as conn:
        for kind, definition in (("Transcode", 30), ("Transcode", 20), ("SampleSnapshot", 10)):
            await media_q.upsert_output(
                conn, file_id=FILE_IDS[0], kind=kind, definition=definition,
                info={"Definition": definition, "Url": f"http://h/{kind}", "Size": 1.5e3},
                blob_keys=[f"k{definition}"],
            )  # fmt: skip
    expected = []
    async with services.db.read() as conn:
        for fid in FILE_IDS:
            row = await media_q.get(conn, APP, fid)
            assert row is not None
            await name_classes(conn, APP, [row])
            outs = await media_q.outputs(conn, fid)
            subs = await subtitles_q.of_media(conn, fid)
            expected.append(library.media_info(row, outs, subs))
    want = json.dumps([expected, ["nope"]], ensure_ascii=False)
    assert expected[0]["SubtitleInfo"] and expected[0]["SampleSnapshotInfo"]
    assert [t["Definition"] for t in expected[0]["TranscodeInfo"]["TranscodeSet"]] == [20, 30]
    assert "SubtitleInfo" not in expected[1] and "TranscodeInfo" not in expected[1]
    asked = [*FILE_IDS, "nope", FILE_IDS[0]]
    assert json.dumps(await library.describe(APP, asked), ensure_ascii=False) == want
    services.db._inline_path = None  # read_inline falls back to Database.read
    assert json.dumps(await library.describe(APP, asked), ensure_ascii=False) == want


async def test_a_long_backlog_is_counted_in_full(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DescribeEventsState counts inline up to INLINE_COUNT_MAX, then off the loop."""
    await emit_many(services, 7)
    monkeypatch.setattr(pull, "INLINE_COUNT_MAX", 5)
    assert await services.events.queue.count(APP) == 7
    monkeypatch.setattr(pull, "INLINE_COUNT_MAX", 8)
    assert await services.events.queue.count(APP) == 7


async def test_statements_of_one_read_share_a_snapshot(services: Services) -> None:
    db = services.db
    async with db.read_inline() as c:
        before = await events_q.count_to_pull(c, APP)
        await emit_many(services, 3)  # committed by another connection meanwhile
        assert await events_q.count_to_pull(c, APP) == before
    async with db.read_inline() as c:  # the next read sees the commit
        assert await events_q.count_to_pull(c, APP) == before + 3


async def test_overlapping_reads_and_a_failed_one(services: Services) -> None:
    db = services.db
    await emit_many(services, 2)

    async def hold() -> int:
        async with db.read_inline() as c:
            await asyncio.sleep(0.01)  # another read runs meanwhile, on its own connection
            return await events_q.count_to_pull(c, APP)

    assert await asyncio.gather(*(hold() for _ in range(12))) == [2] * 12
    with pytest.raises(RuntimeError):
        async with db.read_inline() as c:
            await events_q.count_to_pull(c, APP)
            raise RuntimeError("the caller failed mid-read")
    async with db.read_inline() as c:  # nothing left half-open
        assert await events_q.count_to_pull(c, APP) == 2
    await emit_many(services, 1)  # writers are not blocked by an abandoned reader
    async with db.read_inline() as c:
        assert await events_q.count_to_pull(c, APP) == 3


@pytest.mark.services
async def test_the_prepared_reads_answer_the_same_on_postgresql(
    services: Services, tmp_path: Path
) -> None:
    """The statements built once (bind parameters, IN lists, a bound LIMIT) are
    PostgreSQL's statements too: on the same data they answer there what they answer
    inline on SQLite."""
    from tests.scale.services import create_database, database_url, drop_database, require_services

    require_services()
    await _emit_and_confirm_two(services)
    name = await asyncio.to_thread(create_database)
    try:
        async with running_services(tmp_path / "pg", database_url=database_url(name)) as pg:
            await _seed(pg.db)
            await _emit_and_confirm_two(pg)
            for label, read in _reads().items():
                async with services.db.read_inline() as inline:
                    on_sqlite = await read(inline)
                async with pg.db.read_inline() as conn:
                    on_postgresql = await read(conn)
                # Wall-clock times: the default application's (created at start-up),
                # an output's and its media's (now() when the output was registered).
                stamped = label in ("apps.get", "media.outputs_many")
                clock = {"update_time"} | ({"create_time"} if stamped else set())
                assert _typed(on_postgresql, clock) == _typed(on_sqlite, clock), label
    finally:
        await asyncio.to_thread(drop_database, name)


async def test_describe_events_state_reads_one_statement_without_a_transaction(
    services: Services,
) -> None:
    """Its bounded COUNT is the whole inline read: no BEGIN/ROLLBACK around it."""
    await _emit_and_confirm_two(services)
    async with services.db.read_inline() as inline:
        assert isinstance(inline, InlineReader)
        assert await events_q.count_to_pull(inline, APP, upto=3) == 3
        assert not inline.conn.in_transaction
    assert await services.events.queue.count(APP) == 5
