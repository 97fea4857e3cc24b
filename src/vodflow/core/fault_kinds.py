"""The fault kinds (core/faults.py) and their parameters: Tencent's error codes a
faulty subtask or call may answer, checked when a rule is made."""

from __future__ import annotations

import functools
from typing import Any

from vodflow.errors import invalid_value

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


@functools.cache
def vod_codes() -> frozenset[str]:
    """The error codes of the VOD API as the installed official SDK lists them."""
    from tencentcloud.vod.v20180717 import errorcodes

    return frozenset(v for k, v in vars(errorcodes).items() if k.isupper() and isinstance(v, str))


def check_params(kind: str, action: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The kind's parameters, checked and completed with defaults; others refused."""
    allowed = _PARAMS[kind]
    for name, value in given.items():
        if value is not None and name not in allowed:
            raise invalid_value(name, f"it is not a parameter of {kind}")
    if action is not None and kind != API_ERROR:
        raise invalid_value("Action", "only ApiError rules match an Action")
    p = {k: v for k, v in given.items() if v is not None}
    if kind == SUBTASK_FAIL:
        return subtask_error(p)
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
    if kind == PULL_UPLOAD_FAIL and "ErrCode" in p:
        return pull_task_error(p)
    if kind in (COMMIT_UPLOAD_FAIL, PULL_UPLOAD_FAIL, API_ERROR):
        code = p.get("Code", "InternalError")
        if code not in COMMON_API_CODES and code not in vod_codes():
            raise invalid_value("Code", f"`{code[:64]}` is not an error code of Tencent's VOD API")
        message = p.get("Message") or API_MESSAGES.get(
            code.split(".", 1)[0], f"The request failed ({code})."
        )
        return {"Code": code, "Message": message}
    return p


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
    PULL_UPLOAD_FAIL: frozenset({"Code", "ErrCode", "Message"}),
    API_ERROR: frozenset({"Code", "Message"}),
}


def subtask_error(p: dict[str, Any]) -> dict[str, Any]:
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


# The ErrCode of a PullUpload task that failed (PullComplete), as vodflow's own pulls
# answer them: the source could not be fetched, was not media, or an internal error.
PULL_ERR_CODES = {
    40000: "The file could not be fetched from MediaUrl.",
    60000: "The fetched file is not a media file vodflow can read.",
    70000: "Internal error while pulling the file.",
}


def pull_task_error(p: dict[str, Any]) -> dict[str, Any]:
    """PullUploadFail with ErrCode: the call succeeds and the task fails with it."""
    if "Code" in p:
        raise invalid_value("ErrCode", "give Code (the call fails) or ErrCode (the task fails)")
    code = p["ErrCode"]
    if code not in PULL_ERR_CODES:
        raise invalid_value("ErrCode", "one of 40000, 60000, 70000")
    return {"ErrCode": code, "Message": p.get("Message") or PULL_ERR_CODES[code]}
