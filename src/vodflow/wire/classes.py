"""Requests of the media category actions (CreateClass, ModifyClass...)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vodflow.wire.common import Int, Request, Str

# Tencent: "分类名称，长度限制：1-64 个字符".
ClassNameField = Annotated[Str, Field(min_length=1, max_length=64)]
ClassIdField = Annotated[Int, Field(ge=1, le=2**31 - 1)]


class CreateClassRequest(Request):
    # -1 for a top-level class.
    ParentId: Annotated[Int, Field(ge=-1, le=2**31 - 1)]
    ClassName: ClassNameField


class DescribeAllClassRequest(Request):
    pass


class ModifyClassRequest(Request):
    ClassId: ClassIdField
    ClassName: ClassNameField


class DeleteClassRequest(Request):
    ClassId: ClassIdField
