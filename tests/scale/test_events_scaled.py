"""The event queue under the scaled deployment: concurrent pullers on two replicas,
a failing push receiver, and the deployment-wide gauges of /metrics.

On SQLite one lock serialises every claim, so "two pullers never get the same
visible event" holds by construction there; on PostgreSQL it rests on
`FOR UPDATE SKIP LOCKED` in concurrent transactions of several processes, which is
what these tests exercise.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.events_support import emit_many, receiver
from tests.scale.cluster import Cluster, metric
from tests.servers import ServerProcess
from vodflow.notify.handles import parse_handle

pytestmark = [pytest.mark.services, pytest.mark.slow]

EVENTS = 300
PULLERS = 8


def wait_metric(cluster: Cluster, sample: str, want: float, timeout: float = 60) -> None:
    """Until every replica's /metrics shows `sample` == `want` (gauges refresh each second)."""
    deadline = time.monotonic() + timeout
    for server in cluster.api:
        while (value := metric(server.url, sample)) != want:
            assert time.monotonic() < deadline, f"{server.url}: {sample} = {value}, not {want}"
            time.sleep(0.2)


def test_concurrent_pullers_on_two_replicas_never_share_an_event(make_cluster) -> None:
    """300 queued events, 8 pullers over both replicas, each PullEvents + ConfirmEvents
    in a loop: every event reaches exactly one puller, and all are drained."""
    # A short idle wait: a puller stops at its first empty answer.
    cluster = make_cluster(replicas=2, workers=0, env={"VODFLOW_PULL_WAIT_S": "1"})
    cluster.run(lambda services: emit_many(services, EVENTS, per_tx=50))
    wait_metric(cluster, "vodflow_pull_backlog", EVENTS)

    start = threading.Barrier(PULLERS)
    got: list[list[tuple[int, str, str]]] = [[] for _ in range(PULLERS)]
    errors: list[BaseException] = []

    def puller(i: int, server: ServerProcess) -> None:
        try:
            start.wait(30)
            while batch := server.call("PullEvents")["EventSet"]:
                for e in batch:
                    event_id, _token = parse_handle(e["EventHandle"]) or (0, "")
                    task_id = e["ProcedureStateChangeEvent"]["TaskId"]
                    got[i].append((event_id, e["EventHandle"], task_id))
                # Confirmed at once, far inside the 30 s visibility window: a second
                # delivery of any of these can only be a double claim.
                server.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in batch]})
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=puller, args=(i, cluster.api[i % 2]), daemon=True)
        for i in range(PULLERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a puller hung"

    delivered = Counter(event_id for batch in got for event_id, _h, _t in batch)
    twice = {event_id: n for event_id, n in delivered.items() if n > 1}
    assert not twice, f"events delivered to more than one puller: {twice}"
    assert not errors, errors
    handles = [h for batch in got for _e, h, _t in batch]
    assert len(handles) == len(set(handles)) == EVENTS
    assert len({t for batch in got for _e, _h, t in batch}) == EVENTS
    # The claims really raced across both replicas (processes).
    per_replica = [sum(len(got[i]) for i in range(r, PULLERS, 2)) for r in (0, 1)]
    print(f"events per puller: {[len(g) for g in got]}; per replica: {per_replica}")
    assert all(per_replica), per_replica
    # Drained: nothing left to pull or confirm, as the database and the gauge say.
    [(left,)] = cluster.sql("SELECT count(*) FROM pull_leases WHERE confirmed_at IS NULL")
    assert left == 0
    wait_metric(cluster, "vodflow_pull_backlog", 0)


def test_failing_receiver_shows_in_push_gauges_and_counters(make_cluster) -> None:
    """Events for a receiver that always fails: pending while attempts go on, then given
    up after the last retry, counted once each across the two replicas' relays."""
    n = 20
    # One retry 3 s after the first failure; each attempt takes 2 s (the receiver's
    # delay), so every event stays PENDING for about 7 s before it is given up.
    cluster = make_cluster(replicas=2, workers=0, env={"VODFLOW_PUSH_SCHEDULE": "3"})
    a, _b = cluster.api
    with receiver(default=500, delay_s=2.0) as rec:
        a.call("ModifyEventConfig", {"Mode": "PUSH", "NotificationUrl": rec.url})
        for server in cluster.api:
            assert metric(server.url, "vodflow_push_failures_total") == 0
        cluster.run(lambda services: emit_many(services, n, per_tx=n))
        wait_metric(cluster, "vodflow_push_pending", n)
        wait_metric(cluster, "vodflow_push_pending", 0)
        # Counters are per process: summed over the replicas, each event failed once
        # after its two attempts.
        failures = [metric(s.url, "vodflow_push_failures_total") for s in cluster.api]
        tried = [metric(s.url, 'vodflow_push_attempts_total{result="error"}') for s in cluster.api]
        print(f"failures per replica: {failures}; error attempts: {tried}")
        assert sum(f or 0 for f in failures) == n
        assert sum(e or 0 for e in tried) == 2 * n == rec.hits
    [(failed,)] = cluster.sql("SELECT count(*) FROM events WHERE delivery_status = 'FAILED'")
    assert failed == n
