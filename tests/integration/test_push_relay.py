"""The normal-callback relay in-process, delivering to real HTTP receivers on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from tests.events_support import emit_many, receiver, running_services, seed_task, wait_for
from vodflow.receiver import verify

APP = 1250000000
FAST = (0.2, 0.2, 0.2, 0.2, 0.2)


async def history(s, **filters):  # type: ignore[no-untyped-def]
    base = {"event_types": None, "status": None, "start": None, "end": None}
    rows, _ = await s.events.deliveries(APP, offset=0, limit=100, **(base | filters))
    return rows


async def test_500_three_times_then_200_is_delivered_after_four_attempts(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=FAST) as s:
        with receiver(script=[500, 500, 500]) as rec:
            await s.events.modify_config(
                APP, mode="PUSH", notification_url=rec.url, sign_key="Key42"
            )
            before = time.time()
            await emit_many(s, 1)
            await wait_for(lambda: rec.bodies)
            body = rec.bodies[0]
            assert rec.hits == 4
            assert "EventHandle" not in body
            assert int(before) + 600 <= body["T"] <= time.time() + 600
            assert verify(body, "Key42")["EventType"] == "ProcedureStateChanged"
            assert rec.headers[0]["content-type"] == "application/json"
            await asyncio.sleep(0.3)  # the outcome is recorded just after the answer
            (row,) = await history(s)
            assert row["delivery_status"] == "DELIVERED" and row["attempts"] == 4
            codes = [a["status_code"] for a in row["attempt_log"]]
            assert codes == [500, 500, 500, 200]
            assert all(a["latency_ms"] is not None for a in row["attempt_log"])
            assert row["attempt_log"][0]["response_head"] == "nope"
            assert row["attempt_log"][-1]["error"] is None


async def test_a_receiver_that_is_down_gets_the_event_when_back(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cb"
    async with running_services(tmp_path, push_schedule_s=(0.3,) * 20) as s:
        await s.events.modify_config(APP, mode="PUSH", notification_url=url)
        await emit_many(s, 3)
        await asyncio.sleep(1.0)  # several refused attempts
        rows = await history(s)
        assert all(r["delivery_status"] == "PENDING" and r["attempts"] >= 2 for r in rows)
        assert "ConnectError" in rows[0]["attempt_log"][0]["error"]
        # The receiver comes up on that very port.
        with receiver(port=port) as rec:
            await wait_for(lambda: len(rec.bodies) == 3)


async def test_gives_up_after_the_schedule_and_redeliver_restarts(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(0.1, 0.1)) as s:
        with receiver(default=503) as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 1)
            await wait_for(lambda: rec.hits == 3)
            await asyncio.sleep(0.3)
            (row,) = await history(s, status="FAILED")
            assert row["attempts"] == 3
            rec.default = 200
            await s.events.redeliver(APP, [row["id"]])
            await wait_for(lambda: len(rec.bodies) == 1)
            await asyncio.sleep(0.2)
            assert (await history(s, status="DELIVERED"))[0]["id"] == row["id"]


async def test_a_slow_receiver_does_not_delay_others(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_per_url=2) as s:
        cap = s.settings.push_per_url
        other = await s.apps.create("fast", "", "fileid")
        with receiver(delay_s=2.0) as slow, receiver() as fast:
            await s.events.modify_config(APP, mode="PUSH", notification_url=slow.url)
            await s.events.modify_config(other, mode="PUSH", notification_url=fast.url)
            await emit_many(s, 20)  # the slow URL's backlog: 10 rounds of 2 s
            await wait_for(lambda: slow.inflight == cap)  # it holds all its slots
            await emit_many(s, 20, app_id=other)
            await wait_for(lambda: len(fast.bodies) == 20, timeout=60)
            # Every fast event arrived while the slow backlog was still being worked off ...
            assert len(slow.bodies) < 20
            # ... and the slow URL had exactly its cap in flight at once, never more.
            assert slow.max_inflight == cap
            assert fast.max_inflight <= cap


async def wait_history(s, done, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """The delivery history once `done(rows)` holds (outcomes are written in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await history(s)
        if done(rows):
            return rows
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.05)


async def test_a_2xx_after_the_timeout_is_a_failed_attempt(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_timeout_s=0.5, push_schedule_s=(0.2, 0.2)) as s:
        with receiver(delay_s=2.0) as rec:  # answers 200, but only after 2 s
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 1)
            (row,) = await wait_history(s, lambda r: r[0]["delivery_status"] == "FAILED")
            assert row["attempts"] == 3
            for attempt in row["attempt_log"]:
                assert attempt["status_code"] is None
                assert "timeout" in attempt["error"].lower()
                assert attempt["latency_ms"] >= 500
            # The receiver did answer 2xx every time: too late is a failure.
            await wait_for(lambda: len(rec.attempts) == 3)
            assert [a["code"] for a in rec.attempts] == [200, 200, 200]


async def test_each_retry_is_signed_afresh_under_the_same_event_id(tmp_path: Path) -> None:
    # Retries at least 1.2 s apart (1.5 s - 20 % jitter): T, in whole seconds, must move.
    async with running_services(tmp_path, push_schedule_s=(1.5, 1.5, 1.5)) as s:
        with receiver(script=[500, 500]) as rec:
            await s.events.modify_config(
                APP, mode="PUSH", notification_url=rec.url, sign_key="Key42"
            )
            await emit_many(s, 1)
            (row,) = await wait_history(s, lambda r: r[0]["delivery_status"] == "DELIVERED")
            assert [a["code"] for a in rec.attempts] == [500, 500, 200]
            ts = [a["body"]["T"] for a in rec.attempts]
            assert ts[0] < ts[1] < ts[2]  # fresh on every attempt, failed ones included
            for a in rec.attempts:
                assert verify(a["body"], "Key42", now=a["at"])["EventType"]
                assert a["body"]["T"] <= a["at"] + 600  # now + 600 when it was sent
                assert a["headers"]["x-vodflow-event-id"] == str(row["id"])


async def test_push_applications_are_isolated(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        other = await s.apps.create("b", "", "fileid")
        with receiver() as rec_a, receiver() as rec_b:
            await s.events.modify_config(
                APP, mode="PUSH", notification_url=rec_a.url, sign_key="KeyA"
            )
            await s.events.modify_config(
                other, mode="PUSH", notification_url=rec_b.url, sign_key="KeyB"
            )
            await emit_many(s, 10)
            await emit_many(s, 10, app_id=other, start=100)
            await wait_for(lambda: len(rec_a.bodies) == 10 and len(rec_b.bodies) == 10)

            def task_ids(rec):  # type: ignore[no-untyped-def]
                return {a["body"]["ProcedureStateChangeEvent"]["TaskId"] for a in rec.attempts}

            assert task_ids(rec_a) == {seed_task(i)["TaskId"] for i in range(10)}
            assert task_ids(rec_b) == {seed_task(100 + i)["TaskId"] for i in range(10)}
            assert all(verify(a["body"], "KeyA") for a in rec_a.attempts)
            assert all(verify(a["body"], "KeyB") for a in rec_b.attempts)
            ids_b = {a["headers"]["x-vodflow-event-id"] for a in rec_b.attempts}
            assert ids_b.isdisjoint({a["headers"]["x-vodflow-event-id"] for a in rec_a.attempts})


async def test_private_url_refused_at_delivery_when_not_allowed(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(5,)) as s:
        with receiver() as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            # The operator turns private URLs off after the URL was accepted.
            s.events.relay.settings = s.events.relay.settings.with_overrides(
                allow_private_urls=False
            )
            await emit_many(s, 1)
            await asyncio.sleep(0.5)
            (row,) = await history(s)
            assert rec.hits == 0
            assert "private" in row["attempt_log"][0]["error"]


async def test_no_url_is_an_attempt_that_fails_and_is_retried(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(0.2,) * 10) as s:
        await s.events.modify_config(APP, mode="PUSH")
        await emit_many(s, 1)
        await asyncio.sleep(0.4)
        (row,) = await history(s)
        assert row["delivery_status"] == "PENDING"
        assert row["attempt_log"][0]["error"] == "the application has no NotificationUrl"
        with receiver() as rec:
            await s.events.modify_config(APP, notification_url=rec.url)
            await wait_for(lambda: rec.bodies)


async def test_many_deliveries_in_flight(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        with receiver(delay_s=0.5) as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 16)
            t = time.monotonic()
            await wait_for(lambda: len(rec.bodies) == 16)
            assert time.monotonic() - t < 4.0  # 16 x 0.5 s in parallel, not 8 s in a row
