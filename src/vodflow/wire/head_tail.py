"""Head/tail templates (Create/Modify/Delete/DescribeHeadTailTemplate(s)), Tencent's names.

The models check types and sizes only; the candidate count, FillType and whether each
candidate FileId is a video of the application's library are `core.kinds.head_tail`'s.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vodflow.wire.common import Int, Request, Str

Name64 = Annotated[Str, Field(max_length=64)]
Comment256 = Annotated[Str, Field(max_length=256)]
# Tencent allows 5 candidates; the model only caps memory so that the rule in core
# can answer its own code (InvalidParameterValue.FileIdsTooMany).
CandidateSet = Annotated[list[Annotated[Str, Field(max_length=64)]], Field(max_length=100)]
FillTypeWord = Annotated[Str, Field(max_length=32)]


class CreateHeadTailTemplateRequest(Request):
    Name: Name64
    Comment: Comment256 | None = None
    HeadCandidateSet: CandidateSet | None = None
    TailCandidateSet: CandidateSet | None = None
    FillType: FillTypeWord | None = None


class ModifyHeadTailTemplateRequest(Request):
    Definition: Int
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    HeadCandidateSet: CandidateSet | None = None
    TailCandidateSet: CandidateSet | None = None
    FillType: FillTypeWord | None = None


class DeleteHeadTailTemplateRequest(Request):
    Definition: Int


class DescribeHeadTailTemplatesRequest(Request):
    Definitions: Annotated[list[Int], Field(max_length=100)] | None = None
    Offset: Annotated[Int, Field(ge=0)] = 0
    Limit: Annotated[Int, Field(ge=1, le=100)] = 10
