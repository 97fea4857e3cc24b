"""core/faults.py's pure parts: seeded draws, Tencent's error pairs, matching."""

from __future__ import annotations

import json
import random

import pytest

from vodflow.core import fault_kinds, faults
from vodflow.errors import VodError


def test_draws_are_the_seeded_sequence() -> None:
    rng = random.Random(42)
    assert [faults.draw(42, n) for n in range(50)] == [rng.random() for _ in range(50)]


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ({}, (70000, "InternalError")),
        ({"ErrCode": 40000}, (40000, "InvalidInput")),
        ({"ErrCodeExt": "SourceFileError.NoVideoMedia"}, (60000, "SourceFileError.NoVideoMedia")),
        ({"ErrCode": 60000, "ErrCodeExt": "SourceFileError"}, (60000, "SourceFileError")),
    ],
)
def test_subtask_errors_pair_as_tencent_does(
    given: dict[str, object], want: tuple[int, str]
) -> None:
    got = fault_kinds.subtask_error(dict(given))
    assert (got["ErrCode"], got["ErrCodeExt"]) == want
    assert got["Message"]


@pytest.mark.parametrize(
    "given",
    [{"ErrCode": 1}, {"ErrCodeExt": "Boom"}, {"ErrCode": 40000, "ErrCodeExt": "InternalError"}],
)
def test_bad_subtask_errors_are_refused(given: dict[str, object]) -> None:
    with pytest.raises(VodError) as info:
        fault_kinds.subtask_error(dict(given))
    assert info.value.code == "InvalidParameterValue"


def test_match_is_an_and_of_the_fields_given() -> None:
    target = faults.Target(file_id="f1", subtask_kind="Transcode", definition=100010)
    assert faults.Match().accepts(target)
    assert faults.Match(file_id="f1", definition=100010).accepts(target)
    assert not faults.Match(file_id="f1", definition=10).accepts(target)
    assert not faults.Match(action="SearchMedia").accepts(target)


def test_event_target_finds_the_file_id() -> None:
    body = json.dumps({"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "528"}})
    target = faults.event_target(7, "NewFileUpload", body, "http://x/cb")
    assert (target.key, target.file_id, target.notification_url) == (
        "event-7",
        "528",
        "http://x/cb",
    )
    assert faults.event_target(8, "X", "not json", None).file_id is None
