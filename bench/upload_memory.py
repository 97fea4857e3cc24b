"""Upload memory benchmark: a 1 GiB file through the COS endpoint, server peak RSS.

A real `vodflow serve` receives a generated 1 GiB MPEG-TS (a short clip repeated;
TS concatenates into a valid stream) by simple PUT and by multipart
(cos-python-sdk-v5, 8 MB parts, 4 threads), then CommitUpload probes and hashes
it; and as a client app does, by a client upload signature (ApplyUploadUGC) and
boto3 multipart signed with SigV4 (8 MB parts, 4 threads; the payload's SHA-256
and CRC32 checked while it streams), then CommitUploadUGC. The figure is the
server's VmHWM (peak resident set) read from /proc after each run, beside its RSS
when idle. Goal: peak < 200 MB.

Run: `.venv/bin/python -m bench.upload_memory [SIZE_MIB]` from the repository root.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mediagen import make_video
from tests.servers import ServerProcess
from tests.ugckit import apply as apply_ugc
from tests.ugckit import bucket, s3, signature, ugc
from tests.uploadkit import apply, cos_client

MIB = 1024 * 1024


def status(pid: int, field: str) -> int:
    """A /proc/<pid>/status memory field, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def make_big(path: Path, size: int) -> None:
    clip = make_video(path.with_name("unit.ts"), duration=10.0, vbitrate="4000k")
    unit = clip.read_bytes()
    with open(path, "wb") as out:
        written = 0
        while written < size:
            out.write(unit)
            written += len(unit)


def run_sigv4(work: Path, big: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    server = ServerProcess(work / "sigv4").start()
    assert server.proc is not None
    pid = server.proc.pid
    try:
        idle = status(pid, "VmRSS")
        sig = signature()
        data = apply_ugc(server, sig, "ts", videoName="bench")
        client = s3(server, data)
        config = TransferConfig(
            multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4
        )
        t0 = time.perf_counter()
        key = data["video"]["storagePath"].lstrip("/")
        client.upload_file(str(big), bucket(data), key, Config=config)
        t1 = time.perf_counter()
        done = ugc(
            server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": data["vodSessionKey"]}
        )
        assert done["code"] == 0, done
        t2 = time.perf_counter()
        report("SigV4 multipart", big.stat().st_size, t1 - t0, t2 - t1, idle, status(pid, "VmHWM"))
    finally:
        server.stop()


def report(mode: str, size: int, upload_s: float, commit_s: float, idle: int, peak: int) -> None:
    print(
        f"{mode:15s} {size / MIB:7.0f} MiB  upload {size / MIB / upload_s:6.0f} MiB/s  "
        f"commit {commit_s:5.1f} s  idle RSS {idle / MIB:5.1f} MB  "
        f"peak RSS {peak / MIB:5.1f} MB  ({peak / (200 * MIB):.2f}x of the 200 MB goal)"
    )


def run(size_mib: int, multipart: bool, work: Path, big: Path) -> None:
    server = ServerProcess(work / ("mp" if multipart else "put")).start()
    assert server.proc is not None
    pid = server.proc.pid
    try:
        idle = status(pid, "VmRSS")
        applied = apply(server, "ts", MediaName="bench")
        cos = cos_client(server, applied)
        t0 = time.perf_counter()
        if multipart:
            cos.upload_file(
                Bucket=applied["StorageBucket"],
                Key=applied["MediaStoragePath"],
                LocalFilePath=str(big),
                PartSize=8,
                MAXThread=4,
            )
        else:
            with open(big, "rb") as fh:
                cos.put_object(
                    Bucket=applied["StorageBucket"], Key=applied["MediaStoragePath"], Body=fh
                )
        t1 = time.perf_counter()
        server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
        t2 = time.perf_counter()
        mode = "multipart" if multipart else "simple PUT"
        report(mode, big.stat().st_size, t1 - t0, t2 - t1, idle, status(pid, "VmHWM"))
    finally:
        server.stop()


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory(prefix="vodflow-bench-upload-") as tmp:
        work = Path(tmp)
        big = work / "big.ts"
        make_big(big, size_mib * MIB)
        modes = sys.argv[2:] or ["put", "multipart", "sigv4"]
        for mode in modes:
            if mode == "sigv4":
                run_sigv4(work, big)
            else:
                run(size_mib, mode == "multipart", work, big)


if __name__ == "__main__":
    main()
