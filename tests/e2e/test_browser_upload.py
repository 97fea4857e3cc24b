"""A web page uploads with Tencent's vod-js-sdk-v6 to vodflow, in headless Chromium.

Chromium's resolver maps vod2.qcloud.com and *.myqcloud.com to a vodflow HTTPS
port (and every other host to nowhere); the server's certificate comes from a
test CA the browser trusts (by the CA's key, `--ignore-certificate-errors-spki-list`).
Both of the SDK's storage paths are driven: `storageType: "s3"` (the AWS S3 SDK,
SigV4, bucket in the Host) and the default `"cos"` (its bundled COS SDK, COS
signature, bucket in the Host too); the file is larger than one 5 MiB part, so both
upload it in parts. The page is the app's, served from loopback (as in
development; a page on a public origin calling a loopback vodflow would meet
Chromium's Local Network Access prompt) with the SDK's browser bundle and a
`/signature` endpoint that signs a fresh one-time signature carrying a procedure
for every call, as an app's server would. The
SDK calls PrepareUploadUGC, ApplyUploadUGC, uploads with the AWS S3 SDK (SigV4,
bucket in the Host) and calls CommitUploadUGC; the test then receives the flow's
ProcedureStateChanged FINISH through PullEvents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.mediagen import make_video
from tests.ugckit import HttpsServer, new_app, pull_until, signature, start_https

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
TENCENT_HOSTS = ("vod2.qcloud.com", "vod2.dnsv1.com", "cos.ap-local.myqcloud.com")

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>upload</title>
<script src="/vod-js-sdk-v6.js"></script>
<script src="/storage.js"></script>
<input type="file" id="file">
<div id="progress">0%</div>
<div id="result"></div>
<script>
window.progress = [];
const tcVod = new TcVod.default({
  getSignature: () => fetch("/signature").then(r => r.text()),
  allowReport: false,
  enableResume: false,
});
document.getElementById("file").addEventListener("change", (ev) => {
  const uploader = tcVod.upload({
    mediaFile: ev.target.files[0], mediaName: "from-the-browser",
    storageType: window.STORAGE_TYPE, chunkSize: 5 * 1024 * 1024,
  });
  uploader.on("media_progress", (info) => {
    window.progress.push(info.percent);
    document.getElementById("progress").textContent = Math.round(info.percent * 100) + "%";
  });
  uploader.done().then(
    (done) => { document.getElementById("result").textContent = JSON.stringify(done); },
    (err) => { document.getElementById("result").textContent = "ERROR " + err; },
  );
});
</script>
"""


def spki_sha256(cert_pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@contextmanager
def app_server(
    files: dict[str, tuple[str, Callable[[], bytes]]], chain: Path, key: Path
) -> Iterator[str]:
    """The app's own HTTPS server on loopback: its page, the SDK, its signature endpoint.

    HTTPS because the SDK's COS path talks to COS with the page's own scheme.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(self.path)
            body = found[1]() if found else b""
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", found[0] if found else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(chain, key)
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def https_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    srv = start_https(tmp_path, (*TENCENT_HOSTS, "*.cos.ap-local.myqcloud.com"))
    yield srv, srv.ca
    srv.stop()


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 6 MiB of valid MPEG-TS (a clip repeated): two 5 MiB parts."""
    folder = tmp_path_factory.mktemp("browser")
    unit = make_video(folder / "unit.ts", duration=3.0, vbitrate="3000k").read_bytes()
    path = folder / "clip.ts"
    path.write_bytes(unit * (6 * 1024 * 1024 // len(unit) + 1))
    return path


@pytest.mark.parametrize("storage", ["s3", "cos"])
def test_vod_js_sdk_uploads_from_a_page_and_the_flow_finishes(
    https_server: Any, vod_js_sdk: Path, big_clip: Path, storage: str
) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)")
    from playwright.sync_api import sync_playwright

    srv, ca = https_server
    server: HttpsServer = srv
    app_id = new_app(server, "browser")
    procedure = "browser-snapshot"
    server.call(
        "CreateProcedureTemplate",
        {
            "SubAppId": app_id,
            "Name": procedure,
            "MediaProcessTask": {
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]
            },
        },
    )
    clip = big_clip
    issued: list[str] = []

    def sign_one() -> bytes:
        sig = signature(
            procedure=procedure,
            sub_app_id=app_id,
            one_time_valid=True,
            source_context="user=42",
            session_context="from-the-browser",
        )
        issued.append(sig)
        return sig.encode()

    files: dict[str, tuple[str, Callable[[], bytes]]] = {
        "/": ("text/html", PAGE.encode),
        "/vod-js-sdk-v6.js": ("text/javascript", vod_js_sdk.read_bytes),
        "/signature": ("text/plain", sign_one),
        "/storage.js": ("text/javascript", f"window.STORAGE_TYPE = '{storage}';".encode),
    }

    rules = [f"MAP {host} 127.0.0.1:{server.port}" for host in TENCENT_HOSTS]
    rules += [f"MAP *.myqcloud.com 127.0.0.1:{server.port}", "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1"]
    assert server.chain is not None and server.key is not None
    with app_server(files, server.chain, server.key) as origin, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                f"--host-resolver-rules={', '.join(rules)}",
                f"--ignore-certificate-errors-spki-list={spki_sha256(ca)}",
            ],
        )
        try:
            page = browser.new_page()
            failures: list[str] = []
            page.on(
                "requestfailed",
                lambda r: failures.append(f"{r.method} {r.url}: {r.failure}"),
            )
            page.on("console", lambda m: failures.append(f"console: {m.text}"))
            object_requests: list[str] = []
            page.on(
                "request",
                lambda r: (
                    object_requests.append(f"{r.method} {r.url}")
                    if ".myqcloud.com/" in r.url
                    else None
                ),
            )
            page.goto(f"{origin}/")
            page.set_input_files("#file", str(clip))
            page.wait_for_function(
                "document.getElementById('result').textContent !== ''", timeout=120_000
            )
            result = page.text_content("#result") or ""
            shown = page.text_content("#progress")
            progress = page.evaluate("window.progress")
        finally:
            browser.close()

    assert not result.startswith("ERROR"), "\n".join([result, *failures, server.log()])
    done = json.loads(result)
    file_id = done["fileId"]
    assert done["video"]["url"].startswith(server.url + "/vod/")
    assert shown == "100%"
    # Virtual-host style, in parts: initiate, two parts, complete (the preflights aside).
    bucket = f"https://vodflow-{app_id}.cos.ap-local.myqcloud.com/upload/"
    parts = [r for r in object_requests if r.startswith(f"PUT {bucket}") and "uploadId=" in r]
    assert len(parts) == 2, object_requests
    assert any(r.startswith(f"POST {bucket}") and "uploads" in r for r in object_requests)
    assert progress[-1] == 1 and progress == sorted(progress)
    # One fresh one-time signature per UGC call: PrepareUploadUGC, ApplyUploadUGC, CommitUploadUGC.
    assert len(issued) == 3

    events = pull_until(
        server,
        app_id,
        lambda got: any(e["EventType"] == "ProcedureStateChanged" for e in got),
    )
    upload = next(e["FileUploadEvent"] for e in events if e["EventType"] == "NewFileUpload")
    assert upload["FileId"] == file_id
    assert upload["MediaBasicInfo"]["Name"] == "from-the-browser"
    assert upload["MediaBasicInfo"]["SourceInfo"]["SourceContext"] == "user=42"
    assert upload["MetaData"]["Size"] == clip.stat().st_size
    flow = next(
        e["ProcedureStateChangeEvent"] for e in events if e["EventType"] == "ProcedureStateChanged"
    )
    assert (flow["Status"], flow["FileId"], flow["ErrCode"]) == ("FINISH", file_id, 0)
    assert flow["SessionContext"] == "from-the-browser"
    (snap,) = flow["MediaProcessResultSet"]
    assert snap["Type"] == "SnapshotByTimeOffset"
    assert snap["SnapshotByTimeOffsetTask"]["Status"] == "SUCCESS"
    # The bytes the browser sent are the file's.
    info = server.call("DescribeMediaInfos", {"SubAppId": app_id, "FileIds": [file_id]})
    meta = info["MediaInfoSet"][0]["MetaData"]
    assert meta["Md5"] == hashlib.md5(clip.read_bytes()).hexdigest()
