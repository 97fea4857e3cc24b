"""A COS PUT that runs out of space answers COS's XML error (issue 12 item 18).

The server process gets a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored), so a
write past it fails with EFBIG exactly as a full disk fails with ENOSPC.
"""

from __future__ import annotations

import os
import resource
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from qcloud_cos.cos_exception import CosServiceError

from tests.servers import ServerProcess
from tests.uploadkit import apply, cos_client, signed_sender

LIMIT = 4 * 1024 * 1024


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_put_without_space_answers_cos_xml(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "d", preexec=_small_files)
    srv.start()
    try:
        applied = apply(srv)
        send = signed_sender(srv, applied)
        answer = send("PUT", {}, os.urandom(2 * LIMIT))
        assert answer.status_code == 507
        assert answer.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(answer.content)
        assert root.tag == "Error"
        assert root.findtext("Code") == "InsufficientStorage"
        assert root.findtext("RequestId")
        assert answer.headers["x-cos-request-id"] == root.findtext("RequestId")
        # The official COS SDK reads it as a service error with that code.
        cos = cos_client(srv, applied)
        with pytest.raises(CosServiceError) as info:
            cos.put_object(
                Bucket=applied["StorageBucket"],
                Key=applied["MediaStoragePath"],
                Body=os.urandom(2 * LIMIT),
            )
        assert info.value.get_status_code() == 507
        assert info.value.get_error_code() == "InsufficientStorage"
        # Nothing half-written is left, and a PUT that fits still works.
        assert list((srv.data_dir / "blobs" / ".tmp").iterdir()) == []
        assert send("PUT", {}, os.urandom(1024)).status_code == 200
    finally:
        srv.stop()
