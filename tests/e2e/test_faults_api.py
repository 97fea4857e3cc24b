"""The fault injection actions themselves (vodflow extension, test-only), through the
official SDK's generic call: refused unless enabled, per application, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("faults-api"), args=["--faults"]).start()
    yield srv
    srv.stop()


def refused(server: ServerProcess, action: str, params: dict[str, Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        server.call(action, params)
    return info.value


def test_a_server_without_faults_refuses_the_actions(server: ServerProcess) -> None:
    for action, params in (
        ("CreateFaultRule", {"Kind": "SubtaskFail"}),
        ("DescribeFaultRules", {}),
        ("DeleteFaultRules", {}),
    ):
        err = refused(server, action, params)
        assert err.code == "UnsupportedOperation", (action, err)
        assert "--faults" in err.message


def test_env_enables_faults_too(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env={"VODFLOW_FAULTS": "1"}).start()
    try:
        assert srv.call("CreateFaultRule", {"Kind": "PushDrop"})["RuleId"]
    finally:
        srv.stop()


def test_create_describe_delete(faulty: ServerProcess) -> None:
    faulty.call("DeleteFaultRules", {})
    made = faulty.call(
        "CreateFaultRule",
        {
            "Kind": "SubtaskFail",
            "SubtaskKind": "Transcode",
            "Definition": 100030,
            "Count": 2,
            "ErrCodeExt": "SourceFileError.ContentMalformed",
        },
    )
    rule_id = made["RuleId"]
    assert made["RequestId"]
    other = faulty.call(
        "CreateFaultRule",
        {
            "Kind": "ApiError",
            "Action": "SearchMedia",
            "Code": "RequestLimitExceeded",
            "ExpireSeconds": 60,
        },
    )
    got = faulty.call("DescribeFaultRules", {})
    assert got["TotalCount"] == 2
    first = got["RuleSet"][0]
    assert first["RuleId"] == rule_id and first["RemainingCount"] == 2 and first["FiredCount"] == 0
    assert first["ErrCode"] == 60000 and first["ErrCodeExt"] == "SourceFileError.ContentMalformed"
    assert first["Message"]
    assert got["RuleSet"][1]["ExpireTime"]
    assert got["FiredSet"] == []
    only = faulty.call("DescribeFaultRules", {"RuleIds": [other["RuleId"]]})
    assert [r["RuleId"] for r in only["RuleSet"]] == [other["RuleId"]]
    faulty.call("DeleteFaultRules", {"RuleIds": [rule_id]})
    assert [r["RuleId"] for r in faulty.call("DescribeFaultRules", {})["RuleSet"]] == [
        other["RuleId"]
    ]
    err = refused(faulty, "DeleteFaultRules", {"RuleIds": [rule_id]})
    assert err.code == "ResourceNotFound"
    faulty.call("DeleteFaultRules", {})
    assert faulty.call("DescribeFaultRules", {})["TotalCount"] == 0


def test_rules_are_per_application(faulty: ServerProcess) -> None:
    sub = faulty.call("CreateSubAppId", {"Name": "faults-other"})["SubAppId"]
    faulty.call("DeleteFaultRules", {})
    mine = faulty.call("CreateFaultRule", {"Kind": "ApiError", "Action": "DescribeTaskDetail"})
    theirs = faulty.call(
        "CreateFaultRule", {"Kind": "ApiError", "SubAppId": sub, "Action": "SearchMedia"}
    )
    assert [r["RuleId"] for r in faulty.call("DescribeFaultRules", {})["RuleSet"]] == [
        mine["RuleId"]
    ]
    listed = faulty.call("DescribeFaultRules", {"SubAppId": sub})["RuleSet"]
    assert [r["RuleId"] for r in listed] == [theirs["RuleId"]]
    # The other application's rule fires on its calls only.
    assert "MediaInfoSet" in faulty.call("SearchMedia", {})
    err = refused(faulty, "SearchMedia", {"SubAppId": sub})
    assert err.code == "InternalError"
    # Neither application can delete the other's rule; deleting all is per application.
    assert refused(faulty, "DeleteFaultRules", {"RuleIds": [theirs["RuleId"]]}).code == (
        "ResourceNotFound"
    )
    faulty.call("DeleteFaultRules", {})
    assert faulty.call("DescribeFaultRules", {"SubAppId": sub})["TotalCount"] == 1
    assert faulty.call("DescribeFaultRules", {"SubAppId": sub})["FiredSet"][0]["Action"] == (
        "SearchMedia"
    )
    faulty.call("DeleteFaultRules", {"SubAppId": sub})


@pytest.mark.parametrize(
    ("params", "code", "names"),
    [
        ({"Kind": "Meteor"}, "InvalidParameterValue", "Kind"),
        ({}, "MissingParameter", "Kind"),
        ({"Kind": 5}, "InvalidParameter", "Kind"),
        ({"Kind": "SubtaskFail", "ErrCode": 12345}, "InvalidParameterValue", "ErrCode"),
        ({"Kind": "SubtaskFail", "ErrCode": "40000"}, "InvalidParameter", "ErrCode"),
        ({"Kind": "SubtaskFail", "ErrCodeExt": "Boom"}, "InvalidParameterValue", "ErrCodeExt"),
        (
            {"Kind": "SubtaskFail", "ErrCode": 40000, "ErrCodeExt": "SourceFileError"},
            "InvalidParameterValue",
            "ErrCode",
        ),
        ({"Kind": "SubtaskFail", "Count": -1}, "InvalidParameterValue", "Count"),
        ({"Kind": "SubtaskFail", "Count": 0}, "InvalidParameterValue", "Count"),
        ({"Kind": "SubtaskFail", "Count": 1.5}, "InvalidParameter", "Count"),
        ({"Kind": "SubtaskFail", "Probability": 1.5}, "InvalidParameterValue", "Probability"),
        ({"Kind": "SubtaskFail", "Seed": 3}, "InvalidParameterValue", "Seed"),
        ({"Kind": "SubtaskFail", "ExpireSeconds": -5}, "InvalidParameterValue", "ExpireSeconds"),
        ({"Kind": "SubtaskFail", "SubtaskKind": "Juggle"}, "InvalidParameterValue", "SubtaskKind"),
        ({"Kind": "SubtaskFail", "DelaySeconds": 3}, "InvalidParameterValue", "DelaySeconds"),
        ({"Kind": "SubtaskStall", "Progress": 100}, "InvalidParameterValue", "Progress"),
        ({"Kind": "SubtaskSlow", "Factor": 2, "Seconds": 3}, "InvalidParameterValue", "Factor"),
        ({"Kind": "ApiError", "Code": "Nonsense.Code"}, "InvalidParameterValue", "Code"),
        ({"Kind": "ApiError", "ErrCode": 40000}, "InvalidParameterValue", "ErrCode"),
        ({"Kind": "PullUploadFail", "ErrCode": 1}, "InvalidParameterValue", "ErrCode"),
        (
            {"Kind": "PullUploadFail", "ErrCode": 40000, "Code": "InternalError"},
            "InvalidParameterValue",
            "ErrCode",
        ),
        ({"Kind": "PushDrop", "Action": "PullEvents"}, "InvalidParameterValue", "Action"),
        ({"Kind": "PushDrop", "EventType": "Whatever"}, "InvalidParameterValue", "EventType"),
        ({"Kind": "PushDrop", "Colour": "red"}, "UnknownParameter", "Colour"),
    ],
)
def test_bad_input_answers_tencent_codes(
    faulty: ServerProcess, params: dict[str, Any], code: str, names: str
) -> None:
    err = refused(faulty, "CreateFaultRule", params)
    assert err.code.split(".")[0] == code, err
    assert names in f"{err.code} {err.message}", err


def test_bad_rule_ids(faulty: ServerProcess) -> None:
    assert refused(faulty, "DescribeFaultRules", {"RuleIds": "x"}).code == "InvalidParameter"
    assert refused(faulty, "DeleteFaultRules", {"RuleIds": [""]}).code.startswith(
        "InvalidParameterValue"
    )


def test_cli_create_list_delete(faulty: ServerProcess) -> None:
    from tests.e2e.test_cli import vodflow
    from tests.servers import SECRET_ID, SECRET_KEY

    env = {"VODFLOW_ENDPOINT": faulty.url, "VODFLOW_SECRET_ID": SECRET_ID,
           "VODFLOW_SECRET_KEY": SECRET_KEY}  # fmt: skip
    faulty.call("DeleteFaultRules", {})
    made = vodflow("faults", "create", "ApiError", "--action", "SearchMedia", "--code",
                   "RequestLimitExceeded", "--count", "1", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    rule_id = made.stdout.strip()
    err = refused(faulty, "SearchMedia", {})
    assert err.code == "RequestLimitExceeded"
    listed = vodflow("faults", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    got = json.loads(listed.stdout)
    assert [r["RuleId"] for r in got["RuleSet"]] == [rule_id]
    assert got["FiredSet"][0]["Action"] == "SearchMedia"
    bad = vodflow("faults", "create", "Meteor", env=env)
    assert bad.returncode != 0 and "InvalidParameterValue" in bad.stderr
    gone = vodflow("faults", "delete", rule_id, env=env)
    assert gone.returncode == 0, gone.stderr
    assert faulty.call("DescribeFaultRules", {})["TotalCount"] == 0
