"""Fault injection (test-only): rules that make vodflow misbehave the way Tencent can.

A test creates rules through the extension actions (CreateFaultRule, ...); the layers
that do the work ask `FaultBook.fire` at their one hook point: the subtask runner
(SubtaskFail, SubtaskStall, SubtaskSlow), the push relay (Push*), the pull queue
(Pull*), CommitUpload, PullUpload and the API dispatch (ApiError). A rule that fires is
recorded in the book (DescribeFaultRules' FiredSet) and in the server log, never in
the application's data: what the application sees is what Tencent would send.

Rules and firings live in the database, so every process of a scaled deployment (the
Celery workers that run subtasks, every API replica) applies the same rules. With
faults disabled no rule can be created and every hook costs one truth test
(`FaultBook.enabled`): no query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from vodflow.core.fault_kinds import (
    API_ERROR,
    KINDS,
    PULL_UPLOAD_FAIL,
    SUBTASK_FAIL,
    SUBTASK_SLOW,
    SUBTASK_STALL,
    check_params,
)
from vodflow.errors import VodError, invalid_value
from vodflow.store import faults as q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.faults")

MAX_RULES_PER_APP = 100


@dataclass(frozen=True)
class Match:
    """What a rule applies to; every field given must equal the target's (AND)."""

    file_id: str | None = None
    subtask_kind: str | None = None
    definition: int | None = None
    event_type: str | None = None
    notification_url: str | None = None
    action: str | None = None

    def accepts(self, target: Target) -> bool:
        for name in ("file_id", "subtask_kind", "definition", "event_type", "notification_url"):
            want = getattr(self, name)
            if want is not None and getattr(target, name) != want:
                return False
        return self.action is None or target.action == self.action


@dataclass(frozen=True)
class Target:
    """What a hook is about to do: the fields rules match, and a key naming it.

    `key` (a subtask id, an event id) makes a rule fire at most once per thing, so a
    delayed or duplicated event is not delayed or duplicated again when it comes back.
    `ids` are shown in the FiredSet (TaskId, FileId, EventId...).
    """

    key: str = ""
    file_id: str | None = None
    subtask_kind: str | None = None
    definition: int | None = None
    event_type: str | None = None
    notification_url: str | None = None
    action: str | None = None
    ids: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultRule:
    rule_id: str
    app_id: int
    kind: str
    match: Match
    # How many more times it may fire (None: no limit), and how often it did.
    remaining: int | None
    fired: int
    probability: float | None
    seed: int
    expire_at: float | None
    params: dict[str, Any]
    create_time: float

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> FaultRule:
        return cls(
            rule_id=row["rule_id"],
            app_id=int(row["app_id"]),
            kind=row["kind"],
            match=Match(**row["match"]),
            remaining=row["remaining"],
            fired=int(row["fired"] or 0),
            probability=row["probability"],
            seed=int(row["seed"]),
            expire_at=row["expire_at"],
            params=dict(row["params"]),
            create_time=float(row["create_time"]),
        )


@dataclass(frozen=True)
class Firing:
    time: float
    rule_id: str
    kind: str
    ids: Mapping[str, Any]


def draw(seed: int, n: int) -> float:
    """The n-th (from 0) number of `random.Random(seed)`: a rule's draws are the same
    sequence whichever process takes them, as a seeded generator would give in one."""
    rng = random.Random(seed)
    for _ in range(n):
        rng.random()
    return rng.random()


class FaultBook:
    """The rules and firings of every application, in the database (so every process
    of a scaled deployment applies them); `enabled` is the server's --faults."""

    def __init__(self, db: Database, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled

    def _refuse_disabled(self) -> None:
        if not self.enabled:
            raise VodError(
                "UnsupportedOperation",
                "Fault injection is disabled on this server; start it with "
                "`vodflow serve --faults` (or VODFLOW_FAULTS=1) to use the fault actions.",
            )

    # ------------------------------------------------------------ the actions

    async def create(self, app_id: int, kind: str, match: Match, **firing: Any) -> FaultRule:
        """A new rule (its parameters checked here, where their meaning lives)."""
        self._refuse_disabled()
        if kind not in KINDS:
            raise invalid_value("Kind", f"`{kind[:64]}` is not one of {', '.join(KINDS)}")
        count, probability, seed = firing["count"], firing["probability"], firing["seed"]
        expire_s = firing["expire_seconds"]
        if seed is not None and probability is None:
            raise invalid_value("Seed", "it goes with Probability")
        params = check_params(kind, match.action, firing["params"])
        t = now()
        values = {
            "rule_id": f"fault-{secrets.token_hex(6)}",
            "app_id": app_id,
            "kind": kind,
            "match": {k: v for k, v in asdict(match).items() if v is not None},
            "params": params,
            "remaining": count,
            "probability": probability,
            # Without a Seed the draws are still repeatable: DescribeFaultRules shows it.
            "seed": seed if seed is not None else secrets.randbits(62),
            "expire_at": t + expire_s if expire_s is not None else None,
            "create_time": t,
        }
        async with self.db.tx() as conn:
            if await q.count_rules(conn, app_id) >= MAX_RULES_PER_APP:
                raise VodError(
                    "LimitExceeded", f"An application may have at most {MAX_RULES_PER_APP} rules."
                )
            await q.add_rule(conn, **values)
        log.info("fault rule %s (%s) created for application %s", values["rule_id"], kind, app_id)
        return FaultRule.of(values | {"fired": 0})

    async def rules(self, app_id: int, rule_ids: list[str] | None = None) -> list[FaultRule]:
        self._refuse_disabled()
        async with self.db.read() as conn:
            rows = await q.rules_of(conn, app_id, rule_ids or ())
        return [FaultRule.of(r) for r in rows]

    async def fired(self, app_id: int, rule_ids: list[str] | None = None) -> list[Firing]:
        self._refuse_disabled()
        async with self.db.read() as conn:
            rows = await q.firings_of(conn, app_id, rule_ids or ())
        return [Firing(r["time"], r["rule_id"], r["kind"], r["ids"]) for r in rows]

    async def delete(self, app_id: int, rule_ids: list[str]) -> None:
        """Delete these rules of the app (all of them, and the FiredSet, when empty)."""
        self._refuse_disabled()
        async with self.db.tx() as conn:
            if not rule_ids:
                await q.delete_all(conn, app_id)
                return
            found = {r["rule_id"] for r in await q.rules_of(conn, app_id, rule_ids)}
            unknown = [i for i in rule_ids if i not in found]
            if unknown:
                raise VodError(
                    "ResourceNotFound",
                    f"The fault rules {unknown[:5]} do not exist in this application.",
                )
            await q.delete_rules(conn, app_id, rule_ids)

    # ------------------------------------------------------------ the hooks

    async def fire(
        self,
        app_id: int,
        kinds: tuple[str, ...],
        target: Target,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> FaultRule | None:
        """The first live rule of the app, of one of `kinds`, that matches and fires.

        A rule with a Probability takes the next draw of its seeded generator each
        time it is asked about a target it matches, so a given sequence of requests
        makes the same rules fire in every run. Firing uses up one of its Count.
        `when` picks rules by their parameters (a kind with two hook points).
        """
        t = now()
        async with self.db.read() as conn:
            rows = await q.live_rules(conn, app_id, kinds, t)
        candidates = [
            r
            for r in rows
            if Match(**r["match"]).accepts(target) and (when is None or when(r["params"]))
        ]
        if not candidates:
            return None
        async with self.db.tx() as conn:
            for candidate in candidates:
                row = await q.lock_rule(conn, candidate["rule_id"])
                if row is None or not _live(row, t):
                    continue
                if target.key and await q.fired_on(conn, row["rule_id"], target.key):
                    continue
                if row["probability"] is not None:
                    drawn = draw(int(row["seed"]), int(row["draws"]))
                    await q.update_rule(conn, row["rule_id"], draws=row["draws"] + 1)
                    if drawn >= row["probability"]:
                        continue
                remaining = row["remaining"] - 1 if row["remaining"] is not None else None
                await q.update_rule(
                    conn, row["rule_id"], remaining=remaining, fired=row["fired"] + 1
                )
                ids = dict(target.ids)
                await q.add_firing(
                    conn,
                    app_id=app_id,
                    rule_id=row["rule_id"],
                    kind=row["kind"],
                    time=t,
                    target_key=target.key,
                    ids=ids,
                )
                rule = FaultRule.of(row | {"remaining": remaining, "fired": row["fired"] + 1})
                break
            else:
                return None
        log.warning(
            "fault %s fired (rule %s, application %s): %s",
            rule.kind,
            rule.rule_id,
            app_id,
            ", ".join(f"{k}={v}" for k, v in ids.items()) or "-",
        )
        return rule


def _live(row: Mapping[str, Any], t: float) -> bool:
    if row["expire_at"] is not None and t >= row["expire_at"]:
        return False
    return row["remaining"] is None or row["remaining"] > 0


async def api_error(book: FaultBook, app_id: int, action: str) -> None:
    """ApiError: the call answers the rule's Code instead of running."""
    rule = await book.fire(app_id, (API_ERROR,), Target(action=action, ids={"Action": action}))
    if rule is not None:
        raise VodError(rule.params["Code"], rule.params["Message"])


async def upload_error(book: FaultBook, kind: str, app_id: int, ids: Mapping[str, Any]) -> None:
    """CommitUploadFail / PullUploadFail with a Code: the call answers it."""
    target = Target(file_id=ids.get("FileId"), ids=ids)
    rule = await book.fire(app_id, (kind,), target, when=lambda p: "Code" in p)
    if rule is not None:
        raise VodError(rule.params["Code"], rule.params["Message"])


@dataclass
class SubtaskPlan:
    """What the rules do to one run of claimed subtasks."""

    # Subtask id -> (ErrCode, ErrCodeExt, Message) of those that fail without running.
    fail: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    stall: tuple[float, float] | None = None  # (progress, seconds) before the run
    slow: tuple[float | None, float | None] = (None, None)  # (factor, seconds) after it

    async def stalled(self, on_progress: Callable[[float], None]) -> None:
        if self.stall is not None:
            on_progress(self.stall[0])
            await asyncio.sleep(self.stall[1])

    async def slowed(self, elapsed: float) -> None:
        factor, seconds = self.slow
        extra = seconds if seconds is not None else (factor - 1) * elapsed if factor else 0.0
        if extra > 0:
            await asyncio.sleep(extra)


async def plan_subtasks(
    book: FaultBook, task: Mapping[str, Any], rows: list[dict[str, Any]]
) -> SubtaskPlan:
    """SubtaskFail for each claimed subtask; SubtaskStall and SubtaskSlow for the run."""
    plan = SubtaskPlan()
    app_id = int(task["app_id"])
    for row in rows:
        definition = (row.get("input") or {}).get("Definition")
        target = Target(
            key=f"subtask-{row['id']}",
            file_id=task["file_id"],
            subtask_kind=row["type"],
            definition=definition if isinstance(definition, int) else None,
            ids={
                "TaskId": task["task_id"],
                "FileId": task["file_id"],
                "SubtaskKind": row["type"],
                **({"Definition": definition} if isinstance(definition, int) else {}),
            },
        )
        rule = await book.fire(app_id, (SUBTASK_FAIL,), target)
        if rule is not None:
            p = rule.params
            plan.fail[row["id"]] = (p["ErrCode"], p["ErrCodeExt"], p["Message"])
            continue
        if plan.stall is None and (rule := await book.fire(app_id, (SUBTASK_STALL,), target)):
            plan.stall = (float(rule.params["Progress"]), float(rule.params["Seconds"]))
        if plan.slow == (None, None) and (rule := await book.fire(app_id, (SUBTASK_SLOW,), target)):
            plan.slow = (rule.params.get("Factor"), rule.params.get("Seconds"))
    return plan


def event_target(event_id: int, event_type: str, body: str, url: str | None) -> Target:
    """An event about to be delivered (PUSH to `url`, or pulled when url is None)."""
    file_id = _file_id_of(body)
    ids: dict[str, Any] = {"EventId": event_id, "EventType": event_type}
    if file_id is not None:
        ids["FileId"] = file_id
    return Target(
        key=f"event-{event_id}",
        file_id=file_id,
        event_type=event_type,
        notification_url=url,
        ids=ids,
    )


def _file_id_of(body: str) -> str | None:
    """The FileId an EventContent is about (inside its event's own object)."""
    try:
        content = json.loads(body)
    except ValueError:
        return None
    for value in content.values() if isinstance(content, dict) else ():
        if isinstance(value, dict) and isinstance(value.get("FileId"), str):
            return str(value["FileId"])
    return None


async def pull_task_error(book: FaultBook, task: Mapping[str, Any]) -> tuple[int, str] | None:
    """PullUploadFail with an ErrCode: (ErrCode, Message) the PullUpload task ends with."""
    ids = {"TaskId": task["task_id"], "Action": "PullUpload"}
    target = Target(key=f"task-{task['task_id']}", ids=ids)
    rule = await book.fire(
        int(task["app_id"]), (PULL_UPLOAD_FAIL,), target, when=lambda p: "ErrCode" in p
    )
    return None if rule is None else (int(rule.params["ErrCode"]), str(rule.params["Message"]))
