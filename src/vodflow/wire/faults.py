"""vodflow extension: fault injection rules (test-only; docs/testing-your-app.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vodflow.wire.common import Float, Int, Request, Str
from vodflow.wire.events import EventType as EventTypeName

RuleId = Annotated[Str, Field(min_length=1, max_length=64)]
Name = Annotated[Str, Field(min_length=1, max_length=128)]


class CreateFaultRuleRequest(Request):
    """One rule: its Kind, what it matches (AND), how often it fires, its parameters."""

    Kind: Name
    # Matching: every field given must equal the target's.
    FileId: Name | None = None
    SubtaskKind: Name | None = None
    Definition: Annotated[Int, Field(ge=0)] | None = None
    EventType: EventTypeName | None = None
    NotificationUrl: Annotated[Str, Field(min_length=1, max_length=1024)] | None = None
    Action: Name | None = None
    # Firing: the next Count matches, each with Probability (seeded), until ExpireSeconds.
    Count: Annotated[Int, Field(ge=1, le=1_000_000)] | None = None
    Probability: Annotated[Float, Field(ge=0, le=1)] | None = None
    Seed: Int | None = None
    ExpireSeconds: Annotated[Float, Field(gt=0, le=7 * 24 * 3600)] | None = None
    # Parameters of the kind.
    ErrCode: Int | None = None
    ErrCodeExt: Name | None = None
    Message: Annotated[Str, Field(min_length=1, max_length=1000)] | None = None
    Progress: Annotated[Int, Field(ge=0, le=99)] | None = None
    Seconds: Annotated[Float, Field(gt=0, le=3600)] | None = None
    Factor: Annotated[Float, Field(ge=1, le=100)] | None = None
    DelaySeconds: Annotated[Float, Field(ge=0, le=3600)] | None = None
    Code: Name | None = None


class DescribeFaultRulesRequest(Request):
    RuleIds: Annotated[list[RuleId], Field(max_length=100)] | None = None


class DeleteFaultRulesRequest(Request):
    """Without RuleIds: every rule of the application, and its FiredSet."""

    RuleIds: Annotated[list[RuleId], Field(max_length=100)] | None = None
