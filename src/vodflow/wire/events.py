"""Event notification actions: configuration, the reliable-callback queue, delivery history."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from vodflow.wire.common import Int, Request, Str, unsupported

# EventType -> the EventContent field that carries its object.
EVENT_FIELDS = {
    "NewFileUpload": "FileUploadEvent",
    "ProcedureStateChanged": "ProcedureStateChangeEvent",
    "FileDeleted": "FileDeleteEvent",
    "PullComplete": "PullCompleteEvent",
    "DescribeFileAttributesComplete": "DescribeFileAttributesCompleteEvent",
    "EditMediaComplete": "EditMediaCompleteEvent",
    "SplitMediaComplete": "SplitMediaCompleteEvent",
}
MAX_URL_LEN = 1024

Switch = Literal["ON", "OFF"]
EventType = Literal[
    "NewFileUpload",
    "ProcedureStateChanged",
    "FileDeleted",
    "PullComplete",
    "DescribeFileAttributesComplete",
    "EditMediaComplete",
    "SplitMediaComplete",
]
assert set(EventType.__args__) == set(EVENT_FIELDS)  # type: ignore[attr-defined]
Handle = Annotated[Str, Field(min_length=1, max_length=64)]
ExtInfoStr = Annotated[Str, Field(max_length=1000)]


def _persistence_off(value: str) -> str:
    if value == "ON":
        raise unsupported("PersistenceCompleteEventSwitch ON (no persistence events)")
    return value


class ModifyEventConfigRequest(Request):
    NOTES = {"PersistenceCompleteEventSwitch": "OFF only; ON is refused (UnsupportedOperation)"}
    Mode: Literal["PUSH", "PULL"] | None = None
    NotificationUrl: Annotated[Str, Field(max_length=MAX_URL_LEN)] | None = None
    UploadMediaCompleteEventSwitch: Switch | None = None
    DeleteMediaCompleteEventSwitch: Switch | None = None
    PersistenceCompleteEventSwitch: Annotated[Switch, AfterValidator(_persistence_off)] | None = (
        None
    )
    SignKey: Annotated[Str, Field(max_length=32, pattern=r"^[A-Za-z0-9]*$")] | None = None


class DescribeEventConfigRequest(Request):
    pass


class PullEventsRequest(Request):
    ExtInfo: ExtInfoStr | None = None


class ConfirmEventsRequest(Request):
    EventHandles: Annotated[list[Handle], Field(min_length=1, max_length=16)]
    ExtInfo: ExtInfoStr | None = None


class DescribeEventsStateRequest(Request):
    pass


class DescribeEventDeliveriesRequest(Request):
    """vodflow extension: the outbox with every delivery attempt, newest first."""

    EventTypes: Annotated[list[EventType], Field(max_length=len(EVENT_FIELDS))] | None = None
    Status: Literal["PENDING", "DELIVERED", "FAILED"] | None = None
    StartTime: Annotated[Str, Field(max_length=32)] | None = None
    EndTime: Annotated[Str, Field(max_length=32)] | None = None
    Offset: Annotated[Int, Field(ge=0, le=1_000_000)] = 0
    Limit: Annotated[Int, Field(ge=1, le=100)] = 20


class RedeliverEventsRequest(Request):
    """vodflow extension: queue events again (PUSH: a new round of attempts)."""

    EventIds: Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=1, max_length=100)]
