"""Fault injection (test-only): rules that make vodflow misbehave the way Tencent can.

A test creates rules through the extension actions (CreateFaultRule, ...); the layers
that do the work ask `FaultBook.fire` at their one hook point: the subtask runner
(SubtaskFail, SubtaskStall, SubtaskSlow), the push relay (Push*), the pull queue
(Pull*), CommitUpload, PullUpload and the API dispatch (ApiError). A rule that fires is
recorded in the book (DescribeFaultRules' FiredSet) and in the server log, never in
the application's data: what the application sees is what Tencent would send.

Rules live in the memory of the serving process (docs/testing-your-app.md says what
this means when scaled). With faults disabled no rule can be created, and every hook
costs one truth test of an empty dict.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vodflow.errors import VodError, invalid_value
from vodflow.timeutil import now

log = logging.getLogger("vodflow.faults")

SUBTASK_FAIL = "SubtaskFail"
SUBTASK_STALL = "SubtaskStall"
SUBTASK_SLOW = "SubtaskSlow"
PUSH_DELAY = "PushDelay"
PUSH_DROP = "PushDrop"
PUSH_DUPLICATE = "PushDuplicate"
PUSH_REORDER = "PushReorder"
PUSH_BAD_SIGN = "PushBadSign"
PULL_DUPLICATE = "PullDuplicate"
PULL_HANDLE_EXPIRE = "PullHandleExpire"
COMMIT_UPLOAD_FAIL = "CommitUploadFail"
PULL_UPLOAD_FAIL = "PullUploadFail"
API_ERROR = "ApiError"

SUBTASK_KINDS = (SUBTASK_FAIL, SUBTASK_STALL, SUBTASK_SLOW)
PUSH_KINDS = (PUSH_DELAY, PUSH_DROP, PUSH_DUPLICATE, PUSH_REORDER, PUSH_BAD_SIGN)
PULL_KINDS = (PULL_DUPLICATE, PULL_HANDLE_EXPIRE)
KINDS = (
    *SUBTASK_KINDS,
    *PUSH_KINDS,
    *PULL_KINDS,
    COMMIT_UPLOAD_FAIL,
    PULL_UPLOAD_FAIL,
    API_ERROR,
)

# Tencent's media-processing error codes (ErrCodeExt) and the deprecated integer
# ErrCode of each family (wire.task_views.ERR_CODES says the same for real failures).
SUBTASK_ERR_CODES = {"InvalidInput": 40000, "SourceFileError": 60000, "InternalError": 70000}
SUBTASK_ERR_CODE_EXTS = (
    "InternalError",
    "InvalidInput",
    "InvalidInput.ConfigurationUnsupported",
    "InvalidInput.DefinitionNotExist",
    "InvalidInput.InvalidTimeOffset",
    "SourceFileError",
    "SourceFileError.ContentMalformed",
    "SourceFileError.ContentUnsupported",
    "SourceFileError.NoVideoMedia",
)
DEFAULT_MESSAGES = {
    "InvalidInput": "The input parameters of the processing task are invalid.",
    "SourceFileError": "The source file is damaged or its format is not supported.",
    "InternalError": "An internal error occurred while processing the media.",
}
# Tencent's common error codes an API call may answer, besides the VOD ones.
COMMON_API_CODES = (
    "FailedOperation",
    "InternalError",
    "InvalidParameter",
    "InvalidParameterValue",
    "LimitExceeded",
    "MissingParameter",
    "RequestLimitExceeded",
    "ResourceInUse",
    "ResourceInsufficient",
    "ResourceNotFound",
    "ResourceUnavailable",
    "ServiceUnavailable",
    "UnauthorizedOperation",
    "UnsupportedOperation",
)
API_MESSAGES = {
    "RequestLimitExceeded": "Your request rate exceeds the limit; please try again later.",
    "InternalError": "An internal error occurred; please try again later.",
    "ServiceUnavailable": "The service is temporarily unavailable; please try again later.",
}
# A push held back by PushReorder goes out after the app's next delivery, or after this.
REORDER_HOLD_S = 30.0
MAX_RULES_PER_APP = 100
MAX_FIRED_KEPT = 1000


def _vod_codes() -> frozenset[str]:
    """The error codes of the VOD API as the installed official SDK lists them."""
    from tencentcloud.vod.v20180717 import errorcodes

    return frozenset(v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str))


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


@dataclass
class FaultRule:
    rule_id: str
    app_id: int
    kind: str
    match: Match
    # How many more times it may fire (None: no limit).
    remaining: int | None
    probability: float | None
    seed: int | None
    expire_at: float | None
    params: dict[str, Any]
    create_time: float
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random)
    keys: set[str] = field(default_factory=set)

    def live(self, t: float) -> bool:
        if self.expire_at is not None and t >= self.expire_at:
            return False
        return self.remaining is None or self.remaining > 0


@dataclass(frozen=True)
class Firing:
    time: float
    rule_id: str
    kind: str
    ids: Mapping[str, Any]


class FaultBook:
    """The rules and the firings of one serving process, per application."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._rules: dict[str, FaultRule] = {}
        self._fired: dict[int, list[Firing]] = {}
        self._order = itertools.count()
        self._api_codes: frozenset[str] | None = None

    def _refuse_disabled(self) -> None:
        if not self.enabled:
            raise VodError(
                "UnsupportedOperation",
                "Fault injection is disabled on this server; start it with "
                "`vodflow serve --faults` (or VODFLOW_FAULTS=1) to use the fault actions.",
            )

    # ------------------------------------------------------------ the actions

    def create(self, app_id: int, kind: str, match: Match, **firing: Any) -> FaultRule:
        """A new rule (its parameters checked here, where their meaning lives)."""
        self._refuse_disabled()
        if kind not in KINDS:
            raise invalid_value("Kind", f"`{kind[:64]}` is not one of {', '.join(KINDS)}")
        if sum(1 for r in self._rules.values() if r.app_id == app_id) >= MAX_RULES_PER_APP:
            raise VodError(
                "LimitExceeded", f"An application may have at most {MAX_RULES_PER_APP} rules."
            )
        count, probability, seed = firing["count"], firing["probability"], firing["seed"]
        expire_s = firing["expire_seconds"]
        if seed is not None and probability is None:
            raise invalid_value("Seed", "it goes with Probability")
        params = self._params(kind, match, firing["params"])
        t = now()
        rule = FaultRule(
            rule_id=f"fault-{secrets.token_hex(6)}",
            app_id=app_id,
            kind=kind,
            match=match,
            remaining=count,
            probability=probability,
            seed=seed,
            expire_at=t + expire_s if expire_s is not None else None,
            params=params,
            create_time=t + next(self._order) * 1e-9,
            rng=random.Random(seed),
        )
        self._rules[rule.rule_id] = rule
        log.info("fault rule %s (%s) created for application %s", rule.rule_id, kind, app_id)
        return rule

    def rules(self, app_id: int, rule_ids: list[str] | None = None) -> list[FaultRule]:
        self._refuse_disabled()
        chosen = [r for r in self._rules.values() if r.app_id == app_id]
        if rule_ids:
            chosen = [r for r in chosen if r.rule_id in rule_ids]
        return sorted(chosen, key=lambda r: r.create_time)

    def fired(self, app_id: int, rule_ids: list[str] | None = None) -> list[Firing]:
        self._refuse_disabled()
        kept = self._fired.get(app_id, [])
        return [f for f in kept if not rule_ids or f.rule_id in rule_ids]

    def delete(self, app_id: int, rule_ids: list[str]) -> None:
        """Delete these rules of the app (all of them, and the FiredSet, when empty)."""
        self._refuse_disabled()
        if not rule_ids:
            for rule_id in [r.rule_id for r in self._rules.values() if r.app_id == app_id]:
                del self._rules[rule_id]
            self._fired.pop(app_id, None)
            return
        unknown = [i for i in rule_ids if i not in self._rules or self._rules[i].app_id != app_id]
        if unknown:
            raise VodError(
                "ResourceNotFound",
                f"The fault rules {unknown[:5]} do not exist in this application.",
            )
        for rule_id in rule_ids:
            del self._rules[rule_id]

    # ------------------------------------------------------------ the hooks

    @property
    def armed(self) -> bool:
        """Whether any rule exists: hooks skip all work (building targets) otherwise."""
        return bool(self._rules)

    def fire(self, app_id: int, kinds: tuple[str, ...], target: Target) -> FaultRule | None:
        """The first live rule of the app, of one of `kinds`, that matches and fires.

        A rule with a Probability draws from its own seeded generator each time it is
        asked about a target it matches, so a given sequence of requests makes the
        same rules fire in every run. Firing uses up one of its Count.
        """
        if not self._rules:
            return None
        t = now()
        for rule in sorted(self._rules.values(), key=lambda r: r.create_time):
            if rule.app_id != app_id or rule.kind not in kinds or not rule.live(t):
                continue
            if (target.key and target.key in rule.keys) or not rule.match.accepts(target):
                continue
            if rule.probability is not None and rule.rng.random() >= rule.probability:
                continue
            self._record(rule, target, t)
            return rule
        return None

    def _record(self, rule: FaultRule, target: Target, t: float) -> None:
        rule.fired += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        if target.key:
            rule.keys.add(target.key)
        ids = dict(target.ids)
        kept = self._fired.setdefault(rule.app_id, [])
        kept.append(Firing(t, rule.rule_id, rule.kind, ids))
        del kept[:-MAX_FIRED_KEPT]
        log.warning(
            "fault %s fired (rule %s, application %s): %s",
            rule.kind,
            rule.rule_id,
            rule.app_id,
            ", ".join(f"{k}={v}" for k, v in ids.items()) or "-",
        )

    # ------------------------------------------------------------ parameters

    def _params(self, kind: str, match: Match, given: dict[str, Any]) -> dict[str, Any]:
        """The kind's parameters, checked and completed with defaults; others refused."""
        allowed = _PARAMS[kind]
        for name, value in given.items():
            if value is not None and name not in allowed:
                raise invalid_value(name, f"it is not a parameter of {kind}")
        if match.action is not None and kind != API_ERROR:
            raise invalid_value("Action", "only ApiError rules match an Action")
        p = {k: v for k, v in given.items() if v is not None}
        if kind == SUBTASK_FAIL:
            return _subtask_error(p)
        if kind == SUBTASK_STALL:
            return {"Progress": p.get("Progress", 50), "Seconds": p.get("Seconds", 10.0)}
        if kind == SUBTASK_SLOW:
            if "Factor" in p and "Seconds" in p:
                raise invalid_value("Factor", "give Factor or Seconds, not both")
            if "Factor" not in p and "Seconds" not in p:
                p["Factor"] = 3.0
            return p
        if kind in (PUSH_DELAY, PUSH_REORDER):
            default = 10.0 if kind == PUSH_DELAY else REORDER_HOLD_S
            return {"DelaySeconds": p.get("DelaySeconds", default)}
        if kind in (COMMIT_UPLOAD_FAIL, PULL_UPLOAD_FAIL, API_ERROR):
            code = p.get("Code", "InternalError")
            if code not in COMMON_API_CODES and code not in self._known_api_codes():
                raise invalid_value(
                    "Code", f"`{code[:64]}` is not an error code of Tencent's VOD API"
                )
            message = p.get("Message") or API_MESSAGES.get(
                code.split(".", 1)[0], f"The request failed ({code})."
            )
            return {"Code": code, "Message": message}
        return p

    def _known_api_codes(self) -> frozenset[str]:
        if self._api_codes is None:
            self._api_codes = _vod_codes()
        return self._api_codes


_PARAMS: dict[str, frozenset[str]] = {
    SUBTASK_FAIL: frozenset({"ErrCode", "ErrCodeExt", "Message"}),
    SUBTASK_STALL: frozenset({"Progress", "Seconds"}),
    SUBTASK_SLOW: frozenset({"Factor", "Seconds"}),
    PUSH_DELAY: frozenset({"DelaySeconds"}),
    PUSH_DROP: frozenset(),
    PUSH_DUPLICATE: frozenset(),
    PUSH_REORDER: frozenset({"DelaySeconds"}),
    PUSH_BAD_SIGN: frozenset(),
    PULL_DUPLICATE: frozenset(),
    PULL_HANDLE_EXPIRE: frozenset(),
    COMMIT_UPLOAD_FAIL: frozenset({"Code", "Message"}),
    PULL_UPLOAD_FAIL: frozenset({"Code", "Message"}),
    API_ERROR: frozenset({"Code", "Message"}),
}


def _subtask_error(p: dict[str, Any]) -> dict[str, Any]:
    """ErrCode, ErrCodeExt and Message of a failed subtask, as Tencent pairs them."""
    ext = p.get("ErrCodeExt")
    code = p.get("ErrCode")
    if ext is not None and ext not in SUBTASK_ERR_CODE_EXTS:
        raise invalid_value(
            "ErrCodeExt",
            f"`{ext[:64]}` is not a media-processing error code; one of "
            + ", ".join(SUBTASK_ERR_CODE_EXTS),
        )
    if code is not None and code not in SUBTASK_ERR_CODES.values():
        raise invalid_value("ErrCode", "one of 40000, 60000, 70000")
    if ext is None:
        ext = next((k for k, v in SUBTASK_ERR_CODES.items() if v == code), "InternalError")
    family = ext.split(".", 1)[0]
    if code is None:
        code = SUBTASK_ERR_CODES[family]
    elif SUBTASK_ERR_CODES[family] != code:
        raise invalid_value("ErrCode", f"{ext} goes with ErrCode {SUBTASK_ERR_CODES[family]}")
    message = p.get("Message") or DEFAULT_MESSAGES[family]
    return {"ErrCode": code, "ErrCodeExt": ext, "Message": message}


def api_error(book: FaultBook, app_id: int, action: str) -> None:
    """ApiError: the call answers the rule's Code instead of running."""
    rule = book.fire(app_id, (API_ERROR,), Target(action=action, ids={"Action": action}))
    if rule is not None:
        raise VodError(rule.params["Code"], rule.params["Message"])


def upload_error(book: FaultBook, kind: str, app_id: int, ids: Mapping[str, Any]) -> None:
    """CommitUploadFail / PullUploadFail: the call answers the rule's Code."""
    file_id = ids.get("FileId")
    rule = book.fire(app_id, (kind,), Target(file_id=file_id, ids=ids))
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


def plan_subtasks(
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
        rule = book.fire(app_id, (SUBTASK_FAIL,), target)
        if rule is not None:
            p = rule.params
            plan.fail[row["id"]] = (p["ErrCode"], p["ErrCodeExt"], p["Message"])
            continue
        if plan.stall is None and (rule := book.fire(app_id, (SUBTASK_STALL,), target)):
            plan.stall = (float(rule.params["Progress"]), float(rule.params["Seconds"]))
        if plan.slow == (None, None) and (rule := book.fire(app_id, (SUBTASK_SLOW,), target)):
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
