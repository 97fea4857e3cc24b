"""The web console at /console, driven in headless Chromium (Debian's `chromium`).

Playwright for Python drives the system browser (`executable_path`), never a
downloaded one. The console runs each call through the API's own dispatch, so
the assertions compare what the page shows with what the official SDK answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from tests.conftest import IN_CI
from tests.mediagen import make_video
from tests.servers import APP_ID, DEPLOYMENT, SECRET_ID, SECRET_KEY, ServerProcess
from tests.uploadkit import upload

pytestmark = [pytest.mark.e2e]

CHROMIUM = os.environ.get("VODFLOW_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("VODFLOW_CONSOLE_SCREENSHOTS")  # a directory: save docs screenshots
WAIT_MS = 120_000


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " — `make test` installs it; CI must have it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium(console_server: ServerProcess) -> Iterator[Any]:
    # The server starts first: Playwright's sync API keeps an event loop running in
    # this thread, where the scaled deployment's set-up could no longer asyncio.run.
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield browser
        browser.close()


class Receiver:
    """A callback URL that records every POST body and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", "0"))
                outer.bodies.append(json.loads(self.rfile.read(size)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of_task(self, task_id: str) -> list[dict[str, Any]]:
        return [
            b for b in self.bodies
            if (b.get("ProcedureStateChangeEvent") or {}).get("TaskId") == task_id
        ]  # fmt: skip

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("console")).start()
    yield srv
    srv.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _sign_in(
    page: Any, base: str, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY
) -> None:
    page.goto(f"{base}/console")
    page.fill("input[name=SecretId]", secret_id)
    page.fill("input[name=SecretKey]", secret_key)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#signout")


def _shot(page: Any, name: str, top: str | None = None) -> None:
    """A screenshot for docs/console.md, with `top` scrolled to the top of the view."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.evaluate("document.getElementById('toast').style.display = 'none'")
        if top:
            page.eval_on_selector(top, "e => e.scrollIntoView()")
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
        page.evaluate("document.getElementById('toast').style.display = ''")


def _wait(predicate: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# What the task page showed over time, recorded in the page itself: a full page load
# would reset it, so a FINISH seen here arrived through the live stream.
WATCH_TASK = """() => {
  window.seen = [];
  const record = () => {
    const status = document.querySelector('#task-status');
    const bars = [...document.querySelectorAll('#subtasks progress')].map(p => Number(p.value));
    if (status) window.seen.push([status.textContent, bars]);
  };
  const main = document.querySelector('#main');
  new MutationObserver(record).observe(main, {subtree: true, childList: true});
  record();
}"""


@pytest.mark.slow
def test_console_upload_flow_play_events_templates_sign_out(
    chromium: Any, console_server: ServerProcess, receiver: Receiver, tmp_path: Path
) -> None:
    srv = console_server
    base = srv.url
    clip = make_video(tmp_path / "console-clip.mp4", duration=30, width=640, height=480)
    context = chromium.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()

    # --- sign in: the session cookie is HttpOnly, SameSite=Strict and expires.
    _sign_in(page, base)
    (cookie,) = [c for c in context.cookies() if c["name"] == "vodflow_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert time.time() < cookie["expires"] <= time.time() + 8 * 3600 + 5
    assert page.evaluate("document.cookie") == ""  # not readable by scripts

    # --- events: PUSH to our receiver, set through the console's form.
    page.goto(f"{base}/console#/events")
    page.wait_for_selector("#ev-save:enabled")  # the current configuration is in the form
    page.select_option("#ev-mode", "PUSH")
    page.fill("#ev-url", receiver.url)
    page.fill("#ev-signkey", "")
    page.click("#ev-save")
    page.wait_for_selector("#toast.shown:has-text('Saved.')")
    config = srv.call("DescribeEventConfig")
    assert (config["Mode"], config["NotificationUrl"]) == ("PUSH", receiver.url)

    # --- a procedure created in the console, with the API's validation.
    page.goto(f"{base}/console#/templates?kind=Procedure")
    page.fill("#tpl-json", json.dumps({"Name": "console-flow", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": 100010}]}}))  # fmt: skip
    page.click("#tpl-save")
    page.wait_for_selector("tr[data-id='console-flow']")
    (proc,) = srv.call("DescribeProcedureTemplates", {"Names": ["console-flow"]})[
        "ProcedureTemplateSet"
    ]
    assert proc["MediaProcessTask"]["TranscodeTaskSet"][0]["Definition"] == 100010

    # --- upload from the browser: ApplyUpload, the COS PUT, CommitUpload, with the procedure.
    page.goto(f"{base}/console#/upload")
    page.wait_for_selector("#upload-procedure option[value='console-flow']", state="attached")
    page.set_input_files("#upload-file", str(clip))
    page.fill("#upload-name", "console clip")
    page.select_option("#upload-procedure", "console-flow")
    page.click("#upload-go")
    link = page.wait_for_selector("#uploaded-file", timeout=WAIT_MS)
    file_id = link.text_content()
    assert page.eval_on_selector("#upload-progress", "p => p.value") == 100
    (media,) = srv.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
    assert media["BasicInfo"]["Name"] == "console clip"
    assert media["MetaData"]["Size"] == clip.stat().st_size
    (task,) = srv.call("DescribeTasks", {"FileId": file_id})["TaskSet"]
    task_id = task["TaskId"]

    # --- the flow's page moves by itself (Server-Sent Events) until FINISH.
    page.goto(f"{base}/console#/tasks/{task_id}")
    page.wait_for_selector("#task-status")
    page.evaluate(WATCH_TASK)
    page.wait_for_selector("#task-status:has-text('FINISH')", timeout=WAIT_MS)
    seen = page.evaluate("window.seen")
    statuses = [s for s, _ in seen]
    assert statuses[-1] == "FINISH"
    assert any(s in ("WAITING", "PROCESSING") for s in statuses), statuses
    bars = [b[0] for _, b in seen if b]
    assert bars == sorted(bars) and bars[-1] == 100, bars
    assert len(set(bars)) >= 2, bars  # it rose while the page watched
    # The exact ProcedureStateChanged JSON, as the receiver got it.
    pushed = _wait(lambda: receiver.of_task(task_id), "the ProcedureStateChanged callback")
    shown = page.wait_for_selector("#task-events .event pre")
    assert json.loads(shown.text_content()) == pushed[0]
    _shot(page, "task-flow")

    # --- the task list is live too, and shows the finished flow.
    page.goto(f"{base}/console#/tasks")
    page.wait_for_selector(f"span.status[data-task='{task_id}']:has-text('FINISH')")

    # --- the media page plays the transcode (currentTime advances) and the original.
    page.goto(f"{base}/console#/media/{file_id}")
    (info,) = srv.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
    (out,) = info["TranscodeInfo"]["TranscodeSet"]
    video = page.wait_for_selector(f"video[src='{out['Url']}']")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 1 && !v.error", arg=video, timeout=WAIT_MS)

    # --- the deliveries log shows the event and its attempt; resend delivers it again.
    page.goto(f"{base}/console#/events")
    deliveries = srv.call("DescribeEventDeliveries", {"EventTypes": ["ProcedureStateChanged"]})
    event = deliveries["EventDeliverySet"][0]
    row = page.wait_for_selector(f"#deliveries tr[data-event='{event['EventId']}']")
    assert "DELIVERED" in row.text_content() and "200" in row.text_content()
    before = len(receiver.of_task(task_id))
    page.click(f"#deliveries button.resend[data-event='{event['EventId']}']")
    _wait(lambda: len(receiver.of_task(task_id)) > before, "the resent event")
    assert receiver.of_task(task_id)[-1] == receiver.of_task(task_id)[0]
    _shot(page, "events")

    # --- templates: a refused value shows the API's own message; create, then delete.
    page.goto(f"{base}/console#/templates?kind=SnapshotByTimeOffset")
    bad = {"Name": "too-wide", "Width": 99999, "Height": 0, "Format": "jpg"}
    page.fill("#tpl-json", json.dumps(bad))
    page.click("#tpl-save")
    toast = page.wait_for_selector("#toast.bad.shown")
    with pytest.raises(TencentCloudSDKException) as refused:
        srv.call("CreateSnapshotByTimeOffsetTemplate", bad)
    assert toast.text_content() == f"{refused.value.get_code()}: {refused.value.get_message()}"
    good = {"Name": "console-snap", "Width": 224, "Height": 0, "Format": "jpg"}
    page.fill("#tpl-json", json.dumps(good))
    page.click("#tpl-save")
    created = page.wait_for_selector("tr.custom:has-text('console-snap')")
    definition = created.get_attribute("data-id")
    listed = srv.call("DescribeSnapshotByTimeOffsetTemplates", {"Definitions": [int(definition)]})
    (tpl,) = listed["SnapshotByTimeOffsetTemplateSet"]
    assert (tpl["Name"], tpl["Width"], tpl["Type"]) == ("console-snap", 224, "Custom")
    _shot(page, "templates")
    page.once("dialog", lambda d: d.accept())
    page.click(f"tr[data-id='{definition}'] button.delete")
    page.wait_for_selector(f"tr[data-id='{definition}']", state="detached")
    listed = srv.call("DescribeSnapshotByTimeOffsetTemplates", {"Definitions": [int(definition)]})
    assert listed["SnapshotByTimeOffsetTemplateSet"] == []

    # --- sign out: back to the sign-in form, and the old cookie is dead on the server.
    old = cookie["value"]
    page.click("#signout button")
    page.wait_for_selector("#signin")
    assert [c for c in context.cookies() if c["name"] == "vodflow_console"] == []
    r = httpx.post(
        f"{base}/console/api/DescribeEventConfig",
        cookies={"vodflow_console": old},
        json={},
    )
    assert r.status_code == 401
    context.close()


def _session(srv: ServerProcess, secret_id: str, secret_key: str) -> tuple[httpx.Client, str]:
    """A signed-in HTTP client (no browser) and its CSRF token, read from the page."""
    client = httpx.Client(base_url=srv.url)
    r = client.post("/console/login", data={"SecretId": secret_id, "SecretKey": secret_key})
    assert r.status_code == 303, r.text
    page = client.get("/console").text
    token = page.split('<meta name="csrf" content="', 1)[1].split('"', 1)[0]
    return client, token


def _call(client: httpx.Client, token: str | None, action: str, params: dict[str, Any]) -> Any:
    headers = {} if token is None else {"X-CSRF-Token": token}
    return client.post(f"/console/api/{action}", json=params, headers=headers)


def test_console_refuses_missing_csrf_wrong_keys_and_other_applications(
    console_server: ServerProcess, tmp_path: Path
) -> None:
    srv = console_server
    clip = make_video(tmp_path / "a.mp4", duration=1)
    file_id = upload(srv, clip)["FileId"]
    # A second application, and a credential limited to it.
    other = srv.call("CreateSubAppId", {"Name": "console-other"})["SubAppId"]
    creds = srv.call("CreateTempCredential", {"SubAppId": other, "DurationSeconds": 600})
    tmp = creds["Credentials"]

    # A wrong key signs nobody in.
    r = httpx.post(f"{srv.url}/console/login", data={"SecretId": SECRET_ID, "SecretKey": "x" * 32})
    assert r.status_code == 401 and "vodflow_console" not in r.cookies

    root, token = _session(srv, SECRET_ID, SECRET_KEY)
    # Changes without the CSRF token, or with another one, are refused and not done.
    for given in (None, "0" * 64):
        r = _call(root, given, "DeleteMedia", {"FileId": file_id})
        assert r.status_code == 403
        assert r.json()["Response"]["Error"]["Code"] == "InvalidCsrfToken"
    assert srv.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"] != []
    # A page of another origin is refused even with the cookie and the token.
    r = root.post(
        "/console/api/DeleteMedia",
        json={"FileId": file_id},
        headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
    )
    assert (r.status_code, r.json()["Response"]["Error"]["Code"]) == (403, "InvalidCsrfToken")
    r = httpx.post(
        f"{srv.url}/console/login",
        data={"SecretId": SECRET_ID, "SecretKey": SECRET_KEY},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and "vodflow_console" not in r.cookies
    # A cross-site form post carries no cookie (SameSite=Strict), so no session: refused.
    r = httpx.post(f"{srv.url}/console/api/DeleteMedia", json={"FileId": file_id})
    assert r.status_code == 401
    # The API's body rules, word for word.
    r = root.post(
        "/console/api/DescribeMediaInfos", content=b"{not json", headers={"X-CSRF-Token": token}
    )
    assert r.json()["Response"]["Error"] == {
        "Code": "InvalidParameter",
        "Message": "The request body is not valid JSON.",
    }
    # The root session reaches the default application's media.
    ok = _call(root, token, "DescribeMediaInfos", {"FileIds": [file_id]}).json()["Response"]
    assert ok["MediaInfoSet"][0]["FileId"] == file_id

    # The scoped session: its page is pinned to its application, and another
    # application's ids are refused with the API's own codes.
    scoped, scoped_token = _session(srv, tmp["TmpSecretId"], tmp["TmpSecretKey"])
    assert f'<meta name="scoped-app" content="{other}">' in scoped.get("/console").text
    r = _call(scoped, scoped_token, "DescribeMediaInfos", {"FileIds": [file_id]})
    assert r.json()["Response"]["Error"]["Code"] == "UnauthorizedOperation"
    r = _call(scoped, scoped_token, "DescribeMediaInfos", {"FileIds": [file_id], "SubAppId": other})
    answer = r.json()["Response"]
    assert answer["MediaInfoSet"] == [] and answer["NotExistFileIdSet"] == [file_id]
    r = _call(scoped, scoped_token, "DeleteMedia", {"FileId": file_id, "SubAppId": APP_ID})
    assert r.json()["Response"]["Error"]["Code"] == "UnauthorizedOperation"
    r = _call(scoped, scoped_token, "DescribeSubAppIds", {})
    assert r.json()["Response"]["Error"]["Code"] == "UnauthorizedOperation"  # root only
    r = _call(scoped, scoped_token, "ConsolePeekEvents", {"SubAppId": APP_ID})
    assert r.json()["Response"]["Error"]["Code"] == "UnauthorizedOperation"
    with scoped.stream("GET", f"/console/live?SubAppId={APP_ID}") as live:
        text = "".join(live.iter_text())
    assert "event: error" in text and "UnauthorizedOperation" in text
    assert srv.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"] != []
    # A console session is no API credential.
    sid, token = root.cookies["vodflow_console"].split(".", 1)
    with pytest.raises(TencentCloudSDKException) as info:
        srv.vod(sid, token).DescribeSubAppIds(models.DescribeSubAppIdsRequest())
    assert info.value.get_code().startswith("AuthFailure")
    if DEPLOYMENT != "embedded":
        return
    # The database keeps only the digest of the cookie's secret.
    stored = (
        sqlite3.connect(srv.data_dir / "vodflow.db")
        .execute("SELECT token, secret_key FROM credentials WHERE secret_id = ?", (sid,))
        .fetchone()
    )
    assert stored is not None and token not in stored
    assert stored[0] == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.slow
def test_console_media_list_hls_sprites_flows_delete_and_app_switch(
    chromium: Any, console_server: ServerProcess, tmp_path: Path
) -> None:
    srv = console_server
    base = srv.url
    other = srv.call("CreateSubAppId", {"Name": "console-switch"})["SubAppId"]
    clip = make_video(tmp_path / "b.mp4", duration=6, width=320, height=240)
    names = ["pager one", "pager two", "pager three"]
    ids = [upload(srv, clip, MediaName=n)["FileId"] for n in names]
    elsewhere = upload(srv, clip, MediaName="pager elsewhere", SubAppId=other)["FileId"]
    # A cover for the first, so that the list has a thumbnail to show.
    covered = srv.call(
        "ProcessMedia",
        {
            "FileId": ids[0],
            "MediaProcessTask": {
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 1}
                ]
            },
        },
    )
    _wait(
        lambda: srv.call("DescribeTaskDetail", {"TaskId": covered["TaskId"]})["Status"] == "FINISH",
        "the cover flow",
    )
    (info,) = srv.call("DescribeMediaInfos", {"FileIds": [ids[0]]})["MediaInfoSet"]
    cover_url = info["BasicInfo"]["CoverUrl"]
    assert cover_url

    context = chromium.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    _sign_in(page, base)

    # --- search and paging: newest first, two per page; the cover thumbnail loads.
    page.goto(f"{base}/console#/media?q=pager&limit=2")
    page.wait_for_selector("#media-list tr[data-file]")
    first = page.eval_on_selector_all(
        "#media-list tr[data-file]", "rs => rs.map(r => r.dataset.file)"
    )
    assert first == [ids[2], ids[1]]
    page.click("#next-page")
    page.wait_for_selector(f"#media-list tr[data-file='{ids[0]}']")
    thumb = page.wait_for_selector(f"tr[data-file='{ids[0]}'] img.thumb")
    assert thumb.get_attribute("src") == cover_url
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=thumb)
    assert "1–3 of 3" not in page.text_content("#media-list")
    assert "3–3 of 3" in page.text_content("#media-list")
    _shot(page, "media-list")

    # --- the application switcher shows the other application's library only.
    page.select_option("#app-switch", str(other))
    page.wait_for_selector(f"#media-list tr[data-file='{elsewhere}']")
    assert page.eval_on_selector_all("#media-list tr[data-file]", "rs => rs.length") == 1
    page.select_option("#app-switch", str(APP_ID))
    page.wait_for_selector(f"#media-list tr[data-file='{ids[2]}']")

    # --- start flows from the media page with the template picker: HLS, then sprites.
    def run_template(kind: str, definition: int) -> str:
        page.goto(f"{base}/console#/media/{ids[0]}")
        page.select_option("#flow-kind", kind)
        page.wait_for_selector(f"#flow-definition option[value='{definition}']", state="attached")
        page.select_option("#flow-definition", str(definition))
        page.click("#run-template")
        page.wait_for_url(f"{base}/console#/tasks/*")
        task_id = page.url.rsplit("/", 1)[1]
        page.wait_for_selector("#task-status:has-text('FINISH')", timeout=WAIT_MS)
        return task_id

    hls_task = run_template("AdaptiveDynamicStreaming", 10)
    detail = srv.call("DescribeTaskDetail", {"TaskId": hls_task})
    (result,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert result["Type"] == "AdaptiveDynamicStreaming"
    sprite_task = run_template("ImageSprite", 10)
    assert srv.call("DescribeTaskDetail", {"TaskId": sprite_task})["Status"] == "FINISH"
    # The procedure picker: ProcessMediaByProcedure with the chosen name.
    srv.call("CreateProcedureTemplate", {"Name": "console-gif", "MediaProcessTask": {
        "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0,
                                    "EndTimeOffset": 2}]}})  # fmt: skip
    page.goto(f"{base}/console#/media/{ids[0]}")
    page.wait_for_selector("#flow-procedure option[value='console-gif']", state="attached")
    page.select_option("#flow-procedure", "console-gif")
    page.click("#run-procedure")
    page.wait_for_url(f"{base}/console#/tasks/*")
    gif_task = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#task-status:has-text('FINISH')", timeout=WAIT_MS)
    gif_detail = srv.call("DescribeTaskDetail", {"TaskId": gif_task})["ProcedureTask"]
    assert gif_detail["MediaProcessResultSet"][0]["Type"] == "AnimatedGraphics"

    page.goto(f"{base}/console#/media/{ids[0]}")
    (info,) = srv.call("DescribeMediaInfos", {"FileIds": [ids[0]]})["MediaInfoSet"]
    (stream,) = info["AdaptiveDynamicStreamingInfo"]["AdaptiveDynamicStreamingSet"]
    assert stream["Url"].endswith(".m3u8")
    hls = page.wait_for_selector(f"video[src='{stream['Url']}']")
    hls.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 1 && !v.error", arg=hls, timeout=WAIT_MS)
    (sprite,) = info["ImageSpriteInfo"]["ImageSpriteSet"]
    vtt_text = httpx.get(sprite["WebVttUrl"]).text
    assert vtt_text.startswith("WEBVTT")
    page.wait_for_function(
        "t => document.querySelector('pre.vtt').textContent === t", arg=vtt_text[:4000]
    )
    images = page.eval_on_selector_all("img.sprite", "is => is.map(i => i.getAttribute('src'))")
    assert images == sprite["ImageUrlSet"]
    (gif,) = info["AnimatedGraphicsInfo"]["AnimatedGraphicsSet"]
    page.wait_for_selector(f"img[src='{gif['Url']}']")
    _shot(page, "media-outputs", "div.output[data-kind='AdaptiveDynamicStreaming']")

    # --- delete a part (the adaptive stream), then the whole media.
    page.once("dialog", lambda d: d.accept())
    page.click("div.output[data-kind='AdaptiveDynamicStreaming'] button.danger")
    page.wait_for_selector("div.output[data-kind='AdaptiveDynamicStreaming']", state="detached")
    page.wait_for_selector("img.sprite")
    (info,) = srv.call("DescribeMediaInfos", {"FileIds": [ids[0]]})["MediaInfoSet"]
    assert "AdaptiveDynamicStreamingSet" not in (info.get("AdaptiveDynamicStreamingInfo") or {})
    assert info["ImageSpriteInfo"]["ImageSpriteSet"]
    page.once("dialog", lambda d: d.accept())
    page.click("#delete-media")
    page.wait_for_url(f"{base}/console#/media")
    gone = srv.call("DescribeMediaInfos", {"FileIds": [ids[0]]})
    assert gone["NotExistFileIdSet"] == [ids[0]]
    context.close()


@pytest.mark.slow
def test_console_pull_peek_template_edit_and_abort(
    chromium: Any, console_server: ServerProcess, tmp_path: Path
) -> None:
    srv = console_server
    base = srv.url
    # An application of its own in PULL mode, so the other tests' events stay apart.
    app = srv.call("CreateSubAppId", {"Name": "console-pull"})["SubAppId"]
    srv.call("ModifyEventConfig", {"SubAppId": app, "Mode": "PULL"})
    clip = make_video(tmp_path / "long.mp4", duration=30, width=1280, height=720)
    file_id = upload(srv, clip, SubAppId=app)["FileId"]
    srv.call("CreateSnapshotByTimeOffsetTemplate", {"SubAppId": app, "Name": "edit-me",
             "Width": 200, "Height": 0, "Format": "jpg"})  # fmt: skip
    (tpl,) = srv.call("DescribeSnapshotByTimeOffsetTemplates", {"SubAppId": app, "Type": "Custom"})[
        "SnapshotByTimeOffsetTemplateSet"
    ]

    context = chromium.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    _sign_in(page, base)
    page.select_option("#app-switch", str(app))
    page.wait_for_selector(f"#media-list tr[data-file='{file_id}']")

    # --- abort a running flow from its page: it ends ABORTED, live.
    page.goto(f"{base}/console#/media/{file_id}")
    page.select_option("#flow-kind", "AdaptiveDynamicStreaming")
    page.wait_for_selector("#flow-definition option[value='10']", state="attached")
    page.click("#run-template")
    page.wait_for_url(f"{base}/console#/tasks/*")
    task_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#task-status")
    page.click("#abort-task")
    page.wait_for_selector("#task-status:has-text('ABORTED')", timeout=WAIT_MS)
    assert srv.call("DescribeTaskDetail", {"SubAppId": app, "TaskId": task_id})["Status"] == (
        "ABORTED"
    )
    assert page.is_disabled("#abort-task")
    shown = json.loads(page.wait_for_selector("#task-events .event pre").text_content())
    assert shown["ProcedureStateChangeEvent"]["Status"] == "ABORTED"

    # --- PULL backlog: counted and peeked with its body, and still there to be pulled.
    count = srv.call("DescribeEventsState", {"SubAppId": app})["CountOfEventsToPull"]
    assert count >= 1
    page.goto(f"{base}/console#/events")
    page.wait_for_selector(f"#pull-backlog:has-text('{count} event(s) waiting')")
    page.click("#pull-backlog details summary")
    body = json.loads(page.text_content("#pull-backlog details pre"))
    assert body["ProcedureStateChangeEvent"]["TaskId"] == task_id
    assert srv.call("DescribeEventsState", {"SubAppId": app})["CountOfEventsToPull"] == count
    pulled = srv.call("PullEvents", {"SubAppId": app})["EventSet"]
    assert [e["ProcedureStateChangeEvent"]["TaskId"] for e in pulled] == [task_id]

    # --- edit a custom template: ModifySnapshotByTimeOffsetTemplate with the new width.
    page.goto(f"{base}/console#/templates?kind=SnapshotByTimeOffset")
    page.click(f"tr[data-id='{tpl['Definition']}'] button.edit")
    edited = json.loads(page.input_value("#tpl-json"))
    assert (edited["Name"], edited["Width"]) == ("edit-me", 200)
    edited["Width"] = 256
    page.fill("#tpl-json", json.dumps(edited))
    page.click("#tpl-save")
    page.wait_for_selector("#toast.shown:has-text('Saved')")
    (after,) = srv.call(
        "DescribeSnapshotByTimeOffsetTemplates",
        {"SubAppId": app, "Definitions": [tpl["Definition"]]},
    )["SnapshotByTimeOffsetTemplateSet"]
    assert (after["Name"], after["Width"]) == ("edit-me", 256)

    # A transcode template: DescribeTranscodeTemplates answers fields the Modify action
    # does not take (ContainerType...); the editor keeps only ModifyTranscodeTemplate's.
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": 500, "Width": 320, "Height": 0}
    made = srv.call("CreateTranscodeTemplate", {"SubAppId": app, "Name": "tc-edit",
                    "Container": "mp4", "VideoTemplate": video, "RemoveAudio": 1})[
        "Definition"
    ]  # fmt: skip
    page.goto(f"{base}/console#/templates?kind=Transcode")
    page.click(f"tr[data-id='{made}'] button.edit")
    edited = json.loads(page.input_value("#tpl-json"))
    assert "ContainerType" not in edited and edited["VideoTemplate"]["Bitrate"] == 500
    edited["VideoTemplate"]["Bitrate"] = 600
    page.fill("#tpl-json", json.dumps(edited))
    page.evaluate("document.getElementById('toast').className = ''")  # the last one gone
    page.click("#tpl-save")
    page.wait_for_selector("#toast.shown")
    assert page.text_content("#toast") == f"Saved {made}"
    (after,) = srv.call("DescribeTranscodeTemplates", {"SubAppId": app, "Definitions": [made]})[
        "TranscodeTemplateSet"
    ]
    assert (after["Name"], after["VideoTemplate"]["Bitrate"]) == ("tc-edit", 600)
    context.close()
