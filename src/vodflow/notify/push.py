"""The normal-callback relay: POST each PUSH event to its application's NotificationUrl.

Deliveries are independent tasks: many in flight at once (`push_concurrency`), at
most `push_per_url` per URL, so a slow or dead receiver only ever holds its own
few slots. A claim moves the event's due time past the attempt's timeout; if the
process dies mid-attempt the event simply becomes due again (at least once).
Every attempt is recorded; outcomes are written in batches by one writer task so
the relay costs the database a transaction per batch, not per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import ssl
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vodflow import metrics, net_policy
from vodflow.config import Settings
from vodflow.core import fault_kinds, faults
from vodflow.core.faults import FaultBook, FaultRule
from vodflow.notify.http1 import OriginPool, RequestError, request_target
from vodflow.notify.signing import push_body
from vodflow.notify.wakeup import Hub
from vodflow.status import DeliveryStatus
from vodflow.store import apps as apps_q
from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.push")

RESPONSE_HEAD_BYTES = 256
CLAIM_BATCH = 64
JITTER = 0.2
LEASE_MARGIN_S = 30.0
MAX_CLIENTS = 1000


STOP_GRACE_S = 5.0
# The longest the relay goes without a claim and a fresh read of which applications
# use PUSH: it bounds how late a push is when another process switched its
# application to PUSH (this process's ModifyEventConfig kicks the relay at once).
FULL_CYCLE_S = 1.0
# Fault kinds that keep an event from being sent now (fault injection, test-only).
HELD_KINDS = (fault_kinds.PUSH_DELAY, fault_kinds.PUSH_REORDER, fault_kinds.PUSH_DROP)


@dataclass(frozen=True)
class Target:
    url: str
    sign_key: str


async def _check_public(address: str) -> bool:
    """Whether a resolved address may be connected to (the one outbound policy)."""
    return net_policy.is_public(address)


def next_delay(schedule: tuple[float, ...], attempts: int) -> float | None:
    """Seconds before the next try after `attempts` failed ones; None when out of tries."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


class PushRelay:
    def __init__(self, db: Database, hub: Hub, settings: Settings, faults: FaultBook) -> None:
        self.db = db
        self.hub = hub
        self.settings = settings
        self.faults = faults
        # PushReorder: events held back per application, (id, attempts), sent after
        # the application's next delivery.
        self._held_back: dict[int, list[tuple[int, int]]] = {}
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._per_url: Counter[str] = Counter()
        self._app_url: dict[int, str] = {}
        self._outcomes: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
        self._outcome_ready = asyncio.Event()
        # Keep-alive connections per origin (scheme, host, port).
        self._pools: dict[tuple[str, str, int], OriginPool] = {}
        self._tls = ssl.create_default_context()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Wake-ups come on every commit that wrote events; most are PULL applications'.
        # The relay claims only when a woken application uses PUSH (or its own work,
        # a due retry, a kick or the periodic cycle asks), so a PULL-only deployment
        # does not pay a claim and a read per commit. None: not known yet.
        self._push_apps: set[int] | None = None
        self._due: float | None = None
        self._woken: set[int] = set()
        self._force = True
        self._last_full = 0.0
        # SQLite: claims and outcome batches run inline (see store.events.InlineSqlite).
        self._inline = q.SqlitePush(db.sqlite_path) if db.is_sqlite else None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.hub.listen(self._on_events)
        self._tasks = [
            asyncio.create_task(self._run(), name="push-relay"),
            asyncio.create_task(self._writer(), name="push-writer"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        self._wake.set()
        self._outcome_ready.set()
        # Let the loops see _stopping and leave between transactions: a task
        # cancelled inside one can strand SQLite's write lock on a pooled connection.
        _, late = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()  # outcomes already known are kept, not redelivered
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    def kick(self) -> None:
        """Claim now and re-read which applications use PUSH (their config changed)."""
        self._push_apps = None
        self._poke()

    def _poke(self) -> None:
        """The relay's own reasons to claim (a slot freed, a retry recorded)."""
        self._force = True
        self._wake.set()

    def _on_events(self, app_ids: set[int]) -> None:
        self._woken |= app_ids
        self._wake.set()

    def _needed(self) -> bool:
        """Whether this wake-up calls for a claim (see `_push_apps`)."""
        woken, self._woken = self._woken, set()
        force, self._force = self._force, False
        if force or self._push_apps is None:
            return True
        if time.monotonic() - self._last_full >= FULL_CYCLE_S:
            return True
        if self._due is not None and self._due <= now():
            return True
        return not woken.isdisjoint(self._push_apps)

    # ------------------------------------------------------------ claiming

    def _saturated_apps(self) -> list[int]:
        cap = self.settings.push_per_url
        return [a for a, url in self._app_url.items() if self._per_url[url] >= cap]

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            if self._needed():
                try:
                    claimed = await self._cycle()
                    if claimed and len(self._inflight) < self.settings.push_concurrency:
                        self._force = True
                        await asyncio.sleep(0)
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("push relay: claim failed; retrying in 1 s")
                    self._due = None
                    self._force = True
            t = now()
            due = self._due
            timeout = 1.0 if due is None or due <= t else min(due - t, 1.0)
            until_full = self._last_full + FULL_CYCLE_S - time.monotonic()
            timeout = max(0.0, min(timeout, until_full))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _cycle(self) -> int:
        """Claim what is due; remember the next due time and the PUSH applications."""
        self._last_full = time.monotonic()
        free = self.settings.push_concurrency - len(self._inflight)
        return await self._claim(max(0, min(free, CLAIM_BATCH)))

    async def _claim(self, limit: int) -> int:
        t = now()
        lease = t + self.settings.push_timeout_s + LEASE_MARGIN_S
        skip = self._saturated_apps()
        if self._inline is not None:
            async with self.db.write_lock(urgent=True):
                with self._inline.transaction():
                    rows = self._inline.claim(t, lease, limit, skip)
                    targets = self._inline.targets(list({r["app_id"] for r in rows}))
                    keep, give_back = self._within_caps(rows, targets, t)
                    self._inline.finish((), give_back)
                    self._due = self._inline.next_due()
                    self._push_apps = self._inline.push_apps()
        else:
            async with self.db.tx() as conn:
                rows = await q.claim_push(
                    conn, now=t, lease_until=lease, limit=limit, skip_apps=skip
                )
                targets = {}
                for app_id in {r["app_id"] for r in rows}:
                    app = await apps_q.get(conn, app_id)
                    if app is not None:
                        targets[app_id] = (app["notification_url"] or "", app["sign_key"] or "")
                keep, give_back = self._within_caps(rows, targets, t)
                await q.finish_push(conn, give_back)
                self._due = await q.next_push_due(conn)
                self._push_apps = await q.push_apps(conn)
        for row, target in keep:
            self._per_url[target.url] += 1
            task = asyncio.create_task(self._deliver(row, target))
            self._inflight[row["id"]] = task
        return len(keep)

    def _within_caps(
        self, rows: list[dict[str, Any]], targets: dict[int, tuple[str, str]], t: float
    ) -> tuple[list[tuple[dict[str, Any], Target]], list[dict[str, Any]]]:
        """The claimed rows to deliver now, and those to give back: each URL within its cap."""
        cap = self.settings.push_per_url
        keep: list[tuple[dict[str, Any], Target]] = []
        give_back: list[dict[str, Any]] = []
        taken: Counter[str] = Counter()
        for row in rows:
            url, sign_key = targets.get(row["app_id"], ("", ""))
            self._app_url[row["app_id"]] = url
            if url and self._per_url[url] + taken[url] >= cap:
                give_back.append(
                    {"id": row["id"], "status": DeliveryStatus.PENDING, "attempts": row["attempts"]}
                    | {"next_at": t, "done_at": None}
                )
                continue
            taken[url] += 1
            keep.append((row, Target(url, sign_key)))
        return keep, give_back

    # ------------------------------------------------------------ delivering

    def _pool(self, url: str) -> OriginPool:
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, parts.hostname or "", port)
        pool = self._pools.get(origin)
        if pool is None:
            if len(self._pools) >= MAX_CLIENTS:
                # Forget the oldest origin's idle connections.
                oldest = next(iter(self._pools))
                asyncio.get_running_loop().create_task(self._pools.pop(oldest).aclose())
            check = None if self.settings.allow_private_urls else _check_public
            pool = self._pools[origin] = OriginPool(
                scheme,
                origin[1],
                port,
                size=self.settings.push_per_url,
                check_address=check,
                tls=self._tls,
                user_agent="vodflow-notify/1",
            )
        return pool

    async def _deliver(self, row: dict[str, Any], target: Target) -> None:
        fault = await self._fault(row, target) if self.faults.enabled else None
        if fault is not None and fault.kind in HELD_KINDS:
            self._hold(row, target, fault)
            return
        started = now()
        attempt: dict[str, Any] = {
            "event_id": row["id"],
            "attempt_time": started,
            "url": target.url[:2048],
            "status_code": None,
            "latency_ms": None,
            "error": None,
            "response_head": None,
        }
        ok = False
        try:
            ok = await self._post(row, target, attempt, fault.kind if fault else None)
        except asyncio.CancelledError:
            return  # shutting down: the claim runs out and the event is tried again
        except Exception as exc:  # a bug must not kill the relay
            log.exception("push delivery of event %s crashed", row["id"])
            attempt["error"] = f"internal: {type(exc).__name__}"
        finally:
            self._per_url[target.url] -= 1
            if self._per_url[target.url] <= 0:
                del self._per_url[target.url]
            self._inflight.pop(row["id"], None)
            self._poke()
        done = now()
        attempts = row["attempts"] + 1
        if ok:
            outcome = {"status": DeliveryStatus.DELIVERED, "next_at": None, "done_at": done}
        else:
            delay = next_delay(self.settings.push_schedule_s, attempts)
            if delay is None:
                outcome = {"status": DeliveryStatus.FAILED, "next_at": None, "done_at": done}
            else:
                outcome = {
                    "status": DeliveryStatus.PENDING,
                    "next_at": done + delay,
                    "done_at": None,
                }
        outcome |= {"id": row["id"], "attempts": attempts}
        if ok and self._held_back:
            self._release_held(row["app_id"], done)
        metrics.observe_delivery(ok)
        if outcome["status"] == DeliveryStatus.FAILED:
            metrics.observe_delivery_failed()
        self._outcomes.append((attempt, outcome))
        self._outcome_ready.set()

    async def _post(
        self, row: dict[str, Any], target: Target, attempt: dict[str, Any], fault: str | None
    ) -> bool:
        if not target.url:
            attempt["error"] = "the application has no NotificationUrl"
            return False
        path = request_target(target.url)
        sign_key = target.sign_key
        if fault == fault_kinds.PUSH_BAD_SIGN:  # a Sign made with another key than the app's
            sign_key = f"{sign_key}-not-the-key" if sign_key else secrets.token_hex(8)
        body = push_body(row["body"], sign_key, now()).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("X-Vodflow-Event-Id", str(row["id"])),
        ]
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.push_timeout_s):
                answer = await self._pool(target.url).post(path, headers, body, RESPONSE_HEAD_BYTES)
            attempt["status_code"] = answer.status
            attempt["response_head"] = answer.head.decode("utf-8", "replace")
        except TimeoutError:
            attempt["error"] = f"timeout after {self.settings.push_timeout_s:g} s"
        except RequestError as exc:
            attempt["error"] = str(exc)[:300]
        attempt["latency_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        code = attempt["status_code"]
        if attempt["error"] is None and code is not None and not 200 <= code < 300:
            attempt["error"] = f"HTTP {code}"
        if fault == fault_kinds.PUSH_DUPLICATE and attempt["error"] is None:
            # The very same request again, as a sender that missed the answer would.
            with contextlib.suppress(TimeoutError, RequestError):
                async with asyncio.timeout(self.settings.push_timeout_s):
                    await self._pool(target.url).post(path, headers, body, RESPONSE_HEAD_BYTES)
        return attempt["error"] is None

    # ------------------------------------------------------------ fault injection

    async def _fault(self, row: dict[str, Any], target: Target) -> FaultRule | None:
        aim = faults.event_target(row["id"], row["event_type"], row["body"], target.url)
        return await self.faults.fire(row["app_id"], fault_kinds.PUSH_KINDS, aim)

    def _hold(self, row: dict[str, Any], target: Target, fault: FaultRule) -> None:
        """PushDelay, PushReorder, PushDrop: the event is not sent now (or ever)."""
        self._per_url[target.url] -= 1
        if self._per_url[target.url] <= 0:
            del self._per_url[target.url]
        self._inflight.pop(row["id"], None)
        t = now()
        outcome: dict[str, Any] = {"id": row["id"], "attempts": row["attempts"]}
        if fault.kind == fault_kinds.PUSH_DROP:  # lost: never sent, never tried again
            outcome |= {"status": DeliveryStatus.FAILED, "next_at": None, "done_at": t}
        else:
            delay = float(fault.params["DelaySeconds"])
            outcome |= {"status": DeliveryStatus.PENDING, "next_at": t + delay, "done_at": None}
            if fault.kind == fault_kinds.PUSH_REORDER:
                self._held_back.setdefault(row["app_id"], []).append((row["id"], row["attempts"]))
        self._outcomes.append((None, outcome))
        self._outcome_ready.set()
        self._poke()

    def _release_held(self, app_id: int, t: float) -> None:
        """PushReorder: a later event of the app went out; the held ones follow it now."""
        for event_id, attempts in self._held_back.pop(app_id, []):
            outcome = {"status": DeliveryStatus.PENDING, "next_at": t, "done_at": None}
            self._outcomes.append((None, outcome | {"id": event_id, "attempts": attempts}))

    # ------------------------------------------------------------ recording

    async def _writer(self) -> None:
        while not self._stopping:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push relay: recording outcomes failed; retrying")
                await asyncio.sleep(0.5)
                self._outcome_ready.set()

    async def _flush(self) -> None:
        batch, self._outcomes = self._outcomes, []
        if not batch:
            return
        attempts = [a for a, _ in batch if a is not None]
        outcomes = [o for _, o in batch]
        try:
            if self._inline is not None:
                async with self.db.write_lock(urgent=True):
                    with self._inline.transaction():
                        self._inline.finish(attempts, outcomes)
            else:
                async with self.db.tx() as conn:
                    await q.record_attempts(conn, attempts)
                    await q.finish_push(conn, outcomes)
        except BaseException:
            self._outcomes[:0] = batch
            raise
        if any(o["status"] == DeliveryStatus.PENDING for _, o in batch):
            self._poke()
