"""Fault injection (vodflow extension, test-only): CreateFaultRule, DescribeFaultRules,
DeleteFaultRules. Refused with UnsupportedOperation unless the server runs with faults
enabled (`vodflow serve --faults`, VODFLOW_FAULTS=1); the rules are core/faults.py's."""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core import kinds
from vodflow.core.faults import FaultRule, Match
from vodflow.errors import invalid_value
from vodflow.timeutil import iso
from vodflow.wire.faults import (
    CreateFaultRuleRequest,
    DeleteFaultRulesRequest,
    DescribeFaultRulesRequest,
)

_PARAM_FIELDS = (
    "ErrCode",
    "ErrCodeExt",
    "Message",
    "Progress",
    "Seconds",
    "Factor",
    "DelaySeconds",
    "Code",
)


@action(extension=True)
async def CreateFaultRule(ctx: Context, req: CreateFaultRuleRequest) -> dict[str, Any]:
    names = [k.name for k in kinds.KINDS]
    if req.SubtaskKind is not None and req.SubtaskKind not in names:
        raise invalid_value("SubtaskKind", f"one of {', '.join(names)}")
    match = Match(
        file_id=req.FileId,
        subtask_kind=req.SubtaskKind,
        definition=req.Definition,
        event_type=req.EventType,
        notification_url=req.NotificationUrl,
        action=req.Action,
    )
    rule = await ctx.services.faults.create(
        ctx.app_id,
        req.Kind,
        match,
        count=req.Count,
        probability=req.Probability,
        seed=req.Seed,
        expire_seconds=req.ExpireSeconds,
        params={name: getattr(req, name) for name in _PARAM_FIELDS},
    )
    return {"RuleId": rule.rule_id}


def _rule(rule: FaultRule) -> dict[str, Any]:
    m = rule.match
    out: dict[str, Any] = {
        "RuleId": rule.rule_id,
        "Kind": rule.kind,
        "FileId": m.file_id,
        "SubtaskKind": m.subtask_kind,
        "Definition": m.definition,
        "EventType": m.event_type,
        "NotificationUrl": m.notification_url,
        "Action": m.action,
        "RemainingCount": rule.remaining,
        "FiredCount": rule.fired,
        "Probability": rule.probability,
        "Seed": rule.seed,
        "CreateTime": iso(rule.create_time),
        "ExpireTime": iso(rule.expire_at),
        **rule.params,
    }
    return {k: v for k, v in out.items() if v is not None}


@action(extension=True)
async def DescribeFaultRules(ctx: Context, req: DescribeFaultRulesRequest) -> dict[str, Any]:
    book = ctx.services.faults
    rules = await book.rules(ctx.app_id, req.RuleIds)
    fired = [
        {"Time": iso(f.time), "RuleId": f.rule_id, "Kind": f.kind, **f.ids}
        for f in await book.fired(ctx.app_id, req.RuleIds)
    ]
    return {"RuleSet": [_rule(r) for r in rules], "TotalCount": len(rules), "FiredSet": fired}


@action(extension=True)
async def DeleteFaultRules(ctx: Context, req: DeleteFaultRulesRequest) -> dict[str, Any]:
    await ctx.services.faults.delete(ctx.app_id, req.RuleIds or [])
    return {}
