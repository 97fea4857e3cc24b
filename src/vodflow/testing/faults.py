"""The fault actions (CreateFaultRule, DescribeFaultRules, DeleteFaultRules) of one
application: make vodflow misbehave on purpose, as Tencent sometimes does.

The server must run with faults enabled (`VODFLOW_FAULTS=1`, which `VodflowServer`
sets by default); a server without it refuses these actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vodflow.testing.calls import Caller


class Faults:
    """`faults.add("SubtaskFail", SubtaskKind="Transcode", Count=1, ErrCode=...)`."""

    def __init__(self, app: Caller) -> None:
        self.app = app

    def available(self) -> bool:
        """Whether the server has the fault actions at all (False: InvalidAction)."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        try:
            self.app.call("DescribeFaultRules")
        except TencentCloudSDKException as exc:
            if exc.get_code() == "InvalidAction":
                return False
            raise
        return True

    def add(self, kind: str, **fields: Any) -> str:
        """Create a rule of `kind` (fields as CreateFaultRule names them); its RuleId."""
        answer = self.app.call("CreateFaultRule", {"Kind": kind, **fields})
        return str(answer["RuleId"])

    def rules(self) -> list[dict[str, Any]]:
        """The application's rules (RemainingCount, FiredCount...)."""
        return list(self.app.call("DescribeFaultRules").get("RuleSet") or [])

    def fired(self) -> list[dict[str, Any]]:
        """Which rules fired, when, on what (FiredSet): the test's view, never the app's."""
        return list(self.app.call("DescribeFaultRules").get("FiredSet") or [])

    def delete(self, *rule_ids: str) -> None:
        self.app.call("DeleteFaultRules", {"RuleIds": list(rule_ids)})

    def clear(self) -> None:
        """Delete every rule of the application (and what they fired)."""
        self.app.call("DeleteFaultRules")
