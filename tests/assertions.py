"""Assertion helpers shared by the tests: the Tencent error code a call answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.servers import ServerProcess


def code_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The error code of an official-SDK call that must fail."""
    with pytest.raises(TencentCloudSDKException) as info:
        fn(*args, **kwargs)
    return str(info.value.get_code())


def call_code(server: ServerProcess, action: str, params: dict[str, Any]) -> str:
    """The error code of a raw action call (any parameters, any action) that must fail."""
    return code_of(server.call, action, params)
