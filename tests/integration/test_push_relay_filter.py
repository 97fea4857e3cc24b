"""The relay claims only when a woken application uses PUSH, yet still delivers pushes
configured after start: by this process's ModifyEventConfig (a kick) or, written by
another process straight into the database, at the relay's periodic cycle."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.events_support import emit_many, receiver, running_services, seed_task, wait_for
from vodflow.notify import push
from vodflow.store import apps as apps_q
from vodflow.timeutil import now

APP = 1250000000


def relay_statements(s):  # type: ignore[no-untyped-def]
    """Every statement the relay runs from now on (SQLite: all go through its inline
    connection, the next-due read included)."""
    seen: list[str] = []
    inline = s.events.relay._inline
    assert inline is not None
    inline.conn.set_trace_callback(seen.append)
    return seen


async def test_no_claim_or_read_per_commit_when_no_application_uses_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push, "FULL_CYCLE_S", 3600.0)  # no periodic cycle in this test
    async with running_services(tmp_path) as s:
        relay = s.events.relay
        await wait_for(lambda: relay._push_apps is not None)  # the start-up cycle ran
        await asyncio.sleep(0.2)
        seen = relay_statements(s)
        for i in range(20):  # 20 commits of PULL events, each waking the relay
            await emit_many(s, 1, start=i)
        await asyncio.sleep(1.5)  # past the relay's 1 s idle timeout too
        assert seen == []
        # The same commits for a PUSH application do claim (and deliver).
        with receiver() as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 3, start=100)
            await wait_for(lambda: len(rec.bodies) == 3)
        assert any(q.startswith("UPDATE events SET next_attempt_at") for q in seen)


async def test_push_configured_after_start_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push, "FULL_CYCLE_S", 3600.0)  # the kick alone must do it
    async with running_services(tmp_path) as s:
        relay = s.events.relay
        await emit_many(s, 2)  # PULL events, never pushed
        await wait_for(lambda: relay._push_apps == set())
        with receiver() as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 2, start=10)
            await wait_for(lambda: len(rec.bodies) == 2)
            tasks = {b["ProcedureStateChangeEvent"]["TaskId"] for b in rec.bodies}
            assert tasks == {seed_task(10)["TaskId"], seed_task(11)["TaskId"]}


async def test_push_configured_by_another_process_is_delivered(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        relay = s.events.relay
        await wait_for(lambda: relay._push_apps == set())
        with receiver() as rec:
            # As another replica's ModifyEventConfig would: no kick reaches this relay.
            async with s.db.tx() as conn:
                await apps_q.modify(
                    conn, APP, event_mode="PUSH", notification_url=rec.url, update_time=now()
                )
            await emit_many(s, 2)
            await wait_for(lambda: len(rec.bodies) == 2)
