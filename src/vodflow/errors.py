"""The one error type that crosses layers: a Tencent error code and a message.

Core services raise it for business-rule failures (unknown FileId, a name in use);
the API layer turns it into the error envelope. Codes are Tencent's exact strings.
"""

from __future__ import annotations


class VodError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def invalid_value(field: str, why: str, code: str | None = None) -> VodError:
    return VodError(code or "InvalidParameterValue", f"The value of `{field}` is invalid: {why}")
