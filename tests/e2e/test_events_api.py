"""Event actions through the official SDK against a real vodflow process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models

from tests.assertions import call_code as code_of
from tests.events_support import emit_many, receiver
from tests.flows_support import server_settings, wait_until
from tests.servers import ServerProcess
from vodflow.app import build_services

pytestmark = pytest.mark.e2e


def inject(server: ServerProcess, n: int, app_id: int | None = None, **kw: Any) -> None:
    """Commit events into a running server's outbox from this process (as a worker would)."""

    async def go() -> None:
        services = await build_services(server_settings(server))
        try:
            await emit_many(services, n, app_id=app_id, **kw)
        finally:
            await services.db.close()

    asyncio.run(go())


def new_app(server: ServerProcess, name: str) -> int:
    return int(server.call("CreateSubAppId", {"Name": name})["SubAppId"])


def drain(server: ServerProcess, app_id: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        if server.call("DescribeEventsState", {"SubAppId": app_id})["CountOfEventsToPull"] == 0:
            return got
        batch = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
        if batch:
            server.call(
                "ConfirmEvents",
                {"SubAppId": app_id, "EventHandles": [e["EventHandle"] for e in batch]},
            )
        got += batch


def test_event_config_round_trip(server: ServerProcess) -> None:
    vod = server.vod()
    app_id = new_app(server, "events-config")
    req = models.DescribeEventConfigRequest()
    req.SubAppId = app_id
    got = vod.DescribeEventConfig(req)
    assert (got.Mode, got.NotificationUrl) == ("PULL", "")
    assert got.UploadMediaCompleteEventSwitch == got.DeleteMediaCompleteEventSwitch == "OFF"

    mod = models.ModifyEventConfigRequest()
    mod.SubAppId = app_id
    mod.Mode = "PUSH"
    mod.NotificationUrl = "http://127.0.0.1:9/callback"
    mod.UploadMediaCompleteEventSwitch = "ON"
    mod.DeleteMediaCompleteEventSwitch = "ON"
    mod.SignKey = "abcDEF123"
    vod.ModifyEventConfig(mod)
    got = vod.DescribeEventConfig(req)
    assert (got.Mode, got.NotificationUrl) == ("PUSH", "http://127.0.0.1:9/callback")
    assert got.UploadMediaCompleteEventSwitch == got.DeleteMediaCompleteEventSwitch == "ON"

    # An empty NotificationUrl clears it; omitted fields stay as they were.
    server.call("ModifyEventConfig", {"SubAppId": app_id, "NotificationUrl": ""})
    got = vod.DescribeEventConfig(req)
    assert (got.Mode, got.NotificationUrl) == ("PUSH", "")
    assert got.UploadMediaCompleteEventSwitch == "ON"


def test_pull_confirm_state_through_the_sdk(server: ServerProcess) -> None:
    vod = server.vod()
    app_id = new_app(server, "events-pull")
    inject(server, 20, app_id=app_id)
    state = models.DescribeEventsStateRequest()
    state.SubAppId = app_id
    assert vod.DescribeEventsState(state).CountOfEventsToPull == 20

    pull = models.PullEventsRequest()
    pull.SubAppId = app_id
    events = vod.PullEvents(pull).EventSet
    assert len(events) == 16
    assert {e.EventType for e in events} == {"ProcedureStateChanged"}
    assert all(e.ProcedureStateChangeEvent.TaskId for e in events)
    confirm = models.ConfirmEventsRequest()
    confirm.SubAppId = app_id
    confirm.EventHandles = [e.EventHandle for e in events]
    vod.ConfirmEvents(confirm)
    assert vod.DescribeEventsState(state).CountOfEventsToPull == 4
    rest = drain(server, app_id)
    assert len(rest) == 4
    assert {e["ProcedureStateChangeEvent"]["TaskId"] for e in rest}.isdisjoint(
        {e.ProcedureStateChangeEvent.TaskId for e in events}
    )

    # The history extension shows them delivered (confirmed).
    hist = server.call("DescribeEventDeliveries", {"SubAppId": app_id, "Limit": 100})
    assert hist["TotalCount"] == 20
    assert {d["Status"] for d in hist["EventDeliverySet"]} == {"DELIVERED"}
    assert {d["Mode"] for d in hist["EventDeliverySet"]} == {"PULL"}
    first = hist["EventDeliverySet"][0]["EventId"]
    server.call("RedeliverEvents", {"SubAppId": app_id, "EventIds": [first]})
    again = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    assert len(again) == 1
    pending = server.call("DescribeEventDeliveries", {"SubAppId": app_id, "Status": "PENDING"})
    assert [d["EventId"] for d in pending["EventDeliverySet"]] == [first]


def test_handles_of_another_application_are_refused(server: ServerProcess) -> None:
    a, b = new_app(server, "events-a"), new_app(server, "events-b")
    inject(server, 2, app_id=a)
    handles = [e["EventHandle"] for e in server.call("PullEvents", {"SubAppId": a})["EventSet"]]
    assert len(handles) == 2
    assert server.call("PullEvents", {"SubAppId": b})["EventSet"] == []  # idle: held, empty
    params = {"SubAppId": b, "EventHandles": handles}
    assert code_of(server, "ConfirmEvents", params) == "InvalidParameterValue"
    server.call("ConfirmEvents", {"SubAppId": a, "EventHandles": handles})


def test_seventeen_real_handles_in_one_confirm_are_refused_and_none_confirmed(
    server: ServerProcess,
) -> None:
    app_id = new_app(server, "events-17")
    inject(server, 17, app_id=app_id)
    first = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    second = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    assert (len(first), len(second)) == (16, 1)  # the 16 cap: two pulls
    handles = [e["EventHandle"] for e in first + second]
    assert len(set(handles)) == 17
    params = {"SubAppId": app_id, "EventHandles": handles}
    assert code_of(server, "ConfirmEvents", params) == "InvalidParameterValue"
    state = {"SubAppId": app_id}
    assert server.call("DescribeEventsState", state)["CountOfEventsToPull"] == 17
    pending = server.call("DescribeEventDeliveries", {**state, "Status": "PENDING", "Limit": 100})
    assert pending["TotalCount"] == 17
    # Every handle was good and is still good: none was confirmed by the refused call.
    server.call("ConfirmEvents", {**state, "EventHandles": handles[:16]})
    assert server.call("DescribeEventsState", state)["CountOfEventsToPull"] == 1
    server.call("ConfirmEvents", {**state, "EventHandles": handles[16:]})
    assert server.call("DescribeEventsState", state)["CountOfEventsToPull"] == 0


def deliveries(server: ServerProcess, app_id: int, **filters: Any) -> dict[str, Any]:
    return server.call("DescribeEventDeliveries", {"SubAppId": app_id, "Limit": 100, **filters})


def ids_of(answer: dict[str, Any]) -> list[int]:
    return [d["EventId"] for d in answer["EventDeliverySet"]]


def test_delivery_history_filters_on_real_deliveries(fresh_server: ServerProcess) -> None:
    fresh_server.env["VODFLOW_PUSH_SCHEDULE"] = "0.1"  # one quick retry, then FAILED
    server = fresh_server.start()
    app_id = new_app(server, "events-history")
    switches = {"UploadMediaCompleteEventSwitch": "ON", "DeleteMediaCompleteEventSwitch": "ON"}
    server.call("ModifyEventConfig", {"SubAppId": app_id, "Mode": "PULL", **switches})
    # Before `mid`, PULL: 3 ProcedureStateChanged left pending, 2 NewFileUpload confirmed.
    inject(server, 3, app_id=app_id)
    inject(server, 2, app_id=app_id, event_type="NewFileUpload", start=100)
    pulled = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    assert len(pulled) == 5
    uploads = [e["EventHandle"] for e in pulled if e["EventType"] == "NewFileUpload"]
    server.call("ConfirmEvents", {"SubAppId": app_id, "EventHandles": uploads})
    # History times have whole seconds: start the second batch in the next second.
    t = time.time()
    mid = int(t) + 1
    time.sleep(mid - t + 0.05)
    # From `mid` on, PUSH to a receiver that always fails: 2 FileDeleted end FAILED.
    with receiver(default=503) as rec:
        server.call(
            "ModifyEventConfig", {"SubAppId": app_id, "Mode": "PUSH", "NotificationUrl": rec.url}
        )
        inject(server, 2, app_id=app_id, event_type="FileDeleted", start=200)
        wait_until(
            lambda: deliveries(server, app_id, Status="FAILED"), lambda d: d["TotalCount"] == 2
        )
    every = deliveries(server, app_id)
    assert every["TotalCount"] == 7
    assert ids_of(every) == sorted(ids_of(every), reverse=True)  # newest first
    kinds = {d["EventId"]: d["EventType"] for d in every["EventDeliverySet"]}
    by_kind = {k: {i for i, v in kinds.items() if v == k} for k in set(kinds.values())}
    # Status.
    assert (
        set(ids_of(deliveries(server, app_id, Status="PENDING")))
        == by_kind["ProcedureStateChanged"]
    )
    assert set(ids_of(deliveries(server, app_id, Status="DELIVERED"))) == by_kind["NewFileUpload"]
    failed = deliveries(server, app_id, Status="FAILED")["EventDeliverySet"]
    assert {d["EventId"] for d in failed} == by_kind["FileDeleted"]
    for d in failed:
        assert (d["Mode"], d["Attempts"], len(d["AttemptSet"])) == ("PUSH", 2, 2)
        assert {a["StatusCode"] for a in d["AttemptSet"]} == {503}
    # EventTypes, alone and with a status.
    assert (
        set(ids_of(deliveries(server, app_id, EventTypes=["NewFileUpload"])))
        == by_kind["NewFileUpload"]
    )
    both = deliveries(server, app_id, EventTypes=["ProcedureStateChanged", "FileDeleted"])
    assert set(ids_of(both)) == by_kind["ProcedureStateChanged"] | by_kind["FileDeleted"]
    assert both["TotalCount"] == 5
    assert deliveries(server, app_id, EventTypes=["PullComplete"])["TotalCount"] == 0
    none = deliveries(server, app_id, EventTypes=["NewFileUpload"], Status="PENDING")
    assert (none["TotalCount"], none["EventDeliverySet"]) == (0, [])
    # StartTime (inclusive) / EndTime (exclusive), on the events' creation.
    mid_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mid))
    after = deliveries(server, app_id, StartTime=mid_iso)
    before = deliveries(server, app_id, EndTime=mid_iso)
    assert set(ids_of(after)) == by_kind["FileDeleted"]
    assert set(ids_of(before)) == by_kind["ProcedureStateChanged"] | by_kind["NewFileUpload"]
    window = deliveries(server, app_id, StartTime=mid_iso, EndTime="2100-01-01T00:00:00Z")
    assert set(ids_of(window)) == by_kind["FileDeleted"]
    # Offset/Limit paging: disjoint pages, same TotalCount, together the whole history.
    pages = [deliveries(server, app_id, Offset=o, Limit=3) for o in (0, 3, 6, 9)]
    assert [p["TotalCount"] for p in pages] == [7, 7, 7, 7]
    assert [len(p["EventDeliverySet"]) for p in pages] == [3, 3, 1, 0]
    assert [i for p in pages for i in ids_of(p)] == ids_of(every)
    one = deliveries(server, app_id, Status="PENDING", Offset=1, Limit=1)
    assert one["TotalCount"] == 3
    assert ids_of(one) == [sorted(by_kind["ProcedureStateChanged"], reverse=True)[1]]


BAD: list[tuple[str, dict[str, Any], str]] = [
    # ModifyEventConfig
    ("ModifyEventConfig", {"Mode": "POLL"}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"Mode": 1}, "InvalidParameter"),
    ("ModifyEventConfig", {"Mode": ["PUSH"]}, "InvalidParameter"),
    ("ModifyEventConfig", {"NotificationUrl": 5}, "InvalidParameter"),
    ("ModifyEventConfig", {"NotificationUrl": "ftp://example.com/"}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"NotificationUrl": "http://x/" + "a" * 5000}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"NotificationUrl": "not a url"}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"UploadMediaCompleteEventSwitch": "YES"}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"DeleteMediaCompleteEventSwitch": True}, "InvalidParameter"),
    ("ModifyEventConfig", {"UploadMediaCompleteEventSwitch": 1}, "InvalidParameter"),
    ("ModifyEventConfig", {"SignKey": "abc!@#"}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"SignKey": "a" * 33}, "InvalidParameterValue"),
    ("ModifyEventConfig", {"SignKey": 123}, "InvalidParameter"),
    ("ModifyEventConfig", {"SubAppId": "x"}, "InvalidParameter"),
    ("ModifyEventConfig", {"SubAppId": 999}, "InvalidParameterValue.SubAppId"),
    # DescribeEventConfig
    ("DescribeEventConfig", {"SubAppId": 0}, "InvalidParameterValue.SubAppId"),
    ("DescribeEventConfig", {"SubAppId": True}, "InvalidParameter"),
    ("DescribeEventConfig", {"SubAppId": 999}, "InvalidParameterValue.SubAppId"),
    # PullEvents
    ("PullEvents", {"SubAppId": -1}, "InvalidParameterValue.SubAppId"),
    ("PullEvents", {"ExtInfo": 3}, "InvalidParameter"),
    ("PullEvents", {"ExtInfo": "x" * 1001}, "InvalidParameterValue"),
    ("PullEvents", {"SubAppId": 999}, "InvalidParameterValue.SubAppId"),
    # ConfirmEvents
    ("ConfirmEvents", {}, "MissingParameter"),
    ("ConfirmEvents", {"EventHandles": []}, "InvalidParameterValue"),
    ("ConfirmEvents", {"EventHandles": "abc"}, "InvalidParameter"),
    ("ConfirmEvents", {"EventHandles": [1, 2]}, "InvalidParameter"),
    ("ConfirmEvents", {"EventHandles": ["a" * 20] * 17}, "InvalidParameterValue"),
    ("ConfirmEvents", {"EventHandles": ["garbage"]}, "InvalidParameterValue"),
    ("ConfirmEvents", {"EventHandles": ["f" * 16 + "ffffff"]}, "InvalidParameterValue"),
    ("ConfirmEvents", {"EventHandles": ["x" * 5000]}, "InvalidParameterValue"),
    ("ConfirmEvents", {"EventHandles": [""]}, "InvalidParameterValue"),
    # DescribeEventsState
    ("DescribeEventsState", {"SubAppId": "abc"}, "InvalidParameter"),
    ("DescribeEventsState", {"SubAppId": 999}, "InvalidParameterValue.SubAppId"),
    # DescribeEventDeliveries (extension)
    ("DescribeEventDeliveries", {"Limit": 0}, "InvalidParameterValue.Limit"),
    ("DescribeEventDeliveries", {"Limit": 101}, "InvalidParameterValue.Limit"),
    ("DescribeEventDeliveries", {"Offset": -1}, "InvalidParameterValue.Offset"),
    ("DescribeEventDeliveries", {"Status": "LOST"}, "InvalidParameterValue.Status"),
    ("DescribeEventDeliveries", {"Status": 1}, "InvalidParameter"),
    ("DescribeEventDeliveries", {"EventTypes": ["Nope"]}, "InvalidParameterValue"),
    ("DescribeEventDeliveries", {"EventTypes": [7]}, "InvalidParameter"),
    ("DescribeEventDeliveries", {"EventTypes": "NewFileUpload"}, "InvalidParameter"),
    ("DescribeEventDeliveries", {"StartTime": "yesterday"}, "InvalidParameterValue"),
    (
        "DescribeEventDeliveries",
        {"StartTime": "2030-01-01T00:00:00Z", "EndTime": "2020-01-01T00:00:00Z"},
        "InvalidParameterValue",
    ),
    # RedeliverEvents (extension)
    ("RedeliverEvents", {}, "MissingParameter"),
    ("RedeliverEvents", {"EventIds": []}, "InvalidParameterValue"),
    ("RedeliverEvents", {"EventIds": [0]}, "InvalidParameterValue"),
    ("RedeliverEvents", {"EventIds": ["x"]}, "InvalidParameter"),
    ("RedeliverEvents", {"EventIds": list(range(1, 102))}, "InvalidParameterValue"),
    ("RedeliverEvents", {"EventIds": [10**12]}, "InvalidParameterValue"),
]


@pytest.mark.parametrize(("action", "params", "code"), BAD, ids=lambda v: str(v)[:40])
def test_bad_input(server: ServerProcess, action: str, params: dict[str, Any], code: str) -> None:
    assert code_of(server, action, params) == code


def test_private_urls_refused_unless_allowed(fresh_server: ServerProcess) -> None:
    fresh_server.env["VODFLOW_ALLOW_PRIVATE_URLS"] = "0"
    server = fresh_server.start()
    for url in (
        "http://10.0.0.1/",
        "http://127.0.0.1:8080/cb",
        "http://localhost/",
        "http://[::1]/",
    ):
        assert code_of(server, "ModifyEventConfig", {"NotificationUrl": url}) == (
            "InvalidParameterValue"
        ), url
    server.call("ModifyEventConfig", {"NotificationUrl": "http://93.184.215.14/callback"})
    assert server.call("DescribeEventConfig")["NotificationUrl"] == "http://93.184.215.14/callback"


@pytest.mark.slow
def test_idle_pull_holds_five_seconds_then_answers_empty(server: ServerProcess) -> None:
    app_id = new_app(server, "events-idle")
    pull = models.PullEventsRequest()
    pull.SubAppId = app_id
    vod = server.vod(reqTimeout=10)
    t = time.monotonic()
    assert vod.PullEvents(pull).EventSet == []
    assert 4.9 <= time.monotonic() - t < 7


@pytest.mark.slow
def test_real_thirty_second_window(server: ServerProcess) -> None:
    """The default settings: an unconfirmed event comes back after 30 s with a new handle."""
    app_id = new_app(server, "events-30s")
    inject(server, 1, app_id=app_id)
    (first,) = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    t = time.monotonic()
    again: list[dict[str, Any]] = []
    while not again:
        again = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
        assert time.monotonic() - t < 40
    waited = time.monotonic() - t
    assert 28 <= waited <= 33, waited
    assert again[0]["EventHandle"] != first["EventHandle"]
    assert again[0]["ProcedureStateChangeEvent"] == first["ProcedureStateChangeEvent"]
    stale = {"SubAppId": app_id, "EventHandles": [first["EventHandle"]]}
    assert code_of(server, "ConfirmEvents", stale) == "InvalidParameterValue"
    server.call("ConfirmEvents", {"SubAppId": app_id, "EventHandles": [again[0]["EventHandle"]]})
    assert server.call("DescribeEventsState", {"SubAppId": app_id})["CountOfEventsToPull"] == 0
