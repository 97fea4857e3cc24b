"""Application (SubAppId) actions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from vodflow.wire.common import Input, Int, Region, Request, Str, WireModel

Name40 = Annotated[Str, Field(min_length=1, max_length=40)]
Desc300 = Annotated[Str, Field(max_length=300)]


class CreateSubAppIdRequest(Input):
    REFUSED = {"Tags": "tags on applications"}
    Name: Name40
    Description: Desc300 | None = None
    Type: Literal["AllInOne", "Professional"] | None = None
    Mode: Literal["fileid", "fileid+path"] | None = None
    StorageRegion: Region | None = None


class DescribeSubAppIdsRequest(Input):
    REFUSED = {"Tags": "tags on applications"}
    Name: Annotated[Str, Field(max_length=40)] | None = None
    Offset: Annotated[Int, Field(ge=0)] = 0
    Limit: Annotated[Int, Field(ge=1, le=200)] = 200


class ModifySubAppIdInfoRequest(Request):
    SubAppId: Annotated[Int, Field(ge=1)]
    Name: Name40 | None = None
    Description: Desc300 | None = None


class ModifySubAppIdStatusRequest(Request):
    SubAppId: Annotated[Int, Field(ge=1)]
    Status: Literal["On", "Off", "Destroyed"]


class SubAppIdInfo(WireModel):
    SubAppId: int
    SubAppIdName: str
    Name: str
    Description: str
    CreateTime: str
    Status: str
    Mode: str
    StorageRegions: list[str]
    Tags: list[dict[str, str]] = []
