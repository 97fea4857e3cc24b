// The vodflow console: hand-written, no build step. Every call goes to
// /console/api/<Action>, which runs the API's own action for the session's credential.
"use strict";
(function () {
  var CSRF = document.querySelector('meta[name="csrf"]').content;
  var SCOPED = document.querySelector('meta[name="scoped-app"]').content;
  var DEFAULT_APP = document.querySelector('meta[name="default-app"]').content;
  var ROOT = document.querySelector('meta[name="root"]').content === "1";
  // Per kind, the parameters its Modify/Reset action takes (from the action's model).
  var EDIT_FIELDS = JSON.parse(document.querySelector('meta[name="edit-fields"]').content);
  var NO_APP = { CreateSubAppId: 1, DescribeSubAppIds: 1 };
  var KINDS = [
    ["Transcode", "Definition"], ["AdaptiveDynamicStreaming", "Definition"],
    ["SnapshotByTimeOffset", "Definition"], ["SampleSnapshot", "Definition"],
    ["ImageSprite", "Definition"], ["AnimatedGraphics", "Definition"],
  ];
  var main = document.getElementById("main");
  var app = SCOPED || sessionStorage.getItem("vodflow-app") || DEFAULT_APP;
  var stream = null;

  // ------------------------------------------------------------------ helpers

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function toast(text, bad) {
    var t = document.getElementById("toast");
    t.textContent = text; t.className = bad ? "bad shown" : "shown";
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.className = ""; }, 6000);
  }
  function json(v) { return el("pre", { class: "json" }, JSON.stringify(v, null, 2)); }
  function bytes(n) {
    if (!n && n !== 0) return "";
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function table(head, rows) {
    return el("table", {}, el("thead", {}, el.apply(null, ["tr", {}].concat(head.map(function (h) { return el("th", {}, h); })))),
      el.apply(null, ["tbody", {}].concat(rows)));
  }
  function row(cells, attrs) {
    return el.apply(null, ["tr", attrs || {}].concat(cells.map(function (c) { return el("td", {}, c); })));
  }
  function api(action, params) {
    var body = Object.assign({}, params || {});
    if (!NO_APP[action] && body.SubAppId === undefined) body.SubAppId = Number(app);
    return fetch("/console/api/" + action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (r.status === 401) { location.href = "/console"; throw new Error("signed out"); }
      return r.json();
    }).then(function (data) {
      var resp = data.Response || {};
      if (resp.Error) {
        var err = new Error(resp.Error.Code + ": " + resp.Error.Message);
        err.code = resp.Error.Code;
        throw err;
      }
      return resp;
    });
  }
  function failed(err) { toast(err.message, true); }
  function player(url) {
    // MP4 and HLS both play in Chromium's <video>; a stream's type comes from its name.
    var v = el("video", { controls: "", preload: "metadata", class: "player", src: url });
    return v;
  }
  function section(title) { return el("section", {}, el("h2", {}, title)); }
  function closeStream() { if (stream) { stream.close(); stream = null; } }
  function progressBar(pct, label) {
    var p = el("progress", { max: "100", value: String(pct || 0) });
    return el("span", { class: "prog" }, p, " " + (label || ((pct || 0) + "%")));
  }

  // ------------------------------------------------------------------ app switcher

  function setupApps() {
    var sel = document.getElementById("app-switch");
    if (SCOPED || !ROOT) {  // only the root lists (DescribeSubAppIds) and switches
      sel.appendChild(el("option", { value: String(app) }, String(app)));
      sel.disabled = true;
      return;
    }
    api("DescribeSubAppIds", {}).then(function (r) {
      (r.SubAppIdInfoSet || []).forEach(function (a) {
        var opt = el("option", { value: String(a.SubAppId) }, a.SubAppId + " " + (a.SubAppIdName || a.Name || ""));
        if (String(a.SubAppId) === String(app)) opt.selected = true;
        sel.appendChild(opt);
      });
    }).catch(failed);
    sel.addEventListener("change", function () {
      // Ids of one application mean nothing in another: start over at its library.
      app = sel.value; sessionStorage.setItem("vodflow-app", app);
      if (location.hash === "#/media") route(); else location.hash = "#/media";
    });
  }

  // ------------------------------------------------------------------ media

  function mediaList(query) {
    var state = { text: query.q || "", offset: Number(query.offset || 0), limit: Math.min(100, Number(query.limit || 10)) };
    var box = el("input", { type: "search", placeholder: "Name or description contains…", value: state.text, id: "media-search" });
    var list = el("div", { id: "media-list" });
    var form = el("form", { class: "bar", onsubmit: function (e) { e.preventDefault(); location.hash = "#/media?q=" + encodeURIComponent(box.value) + "&limit=" + state.limit; } },
      box, el("button", { type: "submit" }, "Search"));
    main.appendChild(el("h1", {}, "Media"));
    main.appendChild(form);
    main.appendChild(list);
    var params = { Offset: state.offset, Limit: state.limit, Sort: { Field: "CreateTime", Order: "Desc" } };
    if (state.text) params.Text = state.text;
    api("SearchMedia", params).then(function (r) {
      var rows = (r.MediaInfoSet || []).map(function (m) {
        var b = m.BasicInfo || {}, meta = m.MetaData || {};
        return row([
          b.CoverUrl ? el("img", { src: b.CoverUrl, class: "thumb", alt: "" }) : "",
          el("a", { href: "#/media/" + m.FileId }, b.Name || m.FileId),
          meta.Duration ? meta.Duration.toFixed(1) + " s" : "",
          bytes(meta.Size), b.Type || "", b.ClassName || "", b.CreateTime || "",
        ], { "data-file": m.FileId });
      });
      list.appendChild(table(["", "Name", "Duration", "Size", "Type", "Class", "Created"], rows));
      var total = r.TotalCount || 0;
      var nav = el("p", { class: "pager" }, (total ? state.offset + 1 : 0) + "–" + Math.min(total, state.offset + state.limit) + " of " + total + " ");
      var base = "#/media?q=" + encodeURIComponent(state.text) + "&limit=" + state.limit + "&offset=";
      if (state.offset > 0) nav.appendChild(el("a", { href: base + Math.max(0, state.offset - state.limit), id: "prev-page" }, "‹ Previous"));
      if (state.offset + state.limit < total) nav.appendChild(el("a", { href: base + (state.offset + state.limit), id: "next-page" }, " Next ›"));
      list.appendChild(nav);
    }).catch(failed);
  }

  function outputsOf(info) {
    var out = el("div", {});
    var t = (info.TranscodeInfo || {}).TranscodeSet || [];
    if (t.length) {
      var s = section("Transcodes");
      t.forEach(function (x) {
        s.appendChild(el("div", { class: "output", "data-kind": "Transcode", "data-definition": String(x.Definition) },
          el("p", {}, "Definition " + x.Definition + " · " + x.Width + "×" + x.Height + " · " + x.Container + " · " + bytes(x.Size) + " ",
            el("a", { href: x.Url }, "file"), " ",
            x.Definition ? el("button", { class: "danger", onclick: function () { delParts([{ Type: "TranscodeFiles", Definition: x.Definition }]); } }, "Delete") : ""),
          player(x.Url)));
      });
      out.appendChild(s);
    }
    var a = (info.AdaptiveDynamicStreamingInfo || {}).AdaptiveDynamicStreamingSet || [];
    if (a.length) {
      var sa = section("Adaptive streams");
      a.forEach(function (x) {
        sa.appendChild(el("div", { class: "output", "data-kind": "AdaptiveDynamicStreaming", "data-definition": String(x.Definition) },
          el("p", {}, "Definition " + x.Definition + " · " + x.Package + " ", el("a", { href: x.Url }, "playlist"), " ",
            el("button", { class: "danger", onclick: function () { delParts([{ Type: "AdaptiveDynamicStreamingFiles", Definition: x.Definition }]); } }, "Delete")),
          player(x.Url)));
      });
      out.appendChild(sa);
    }
    var snaps = (info.SnapshotByTimeOffsetInfo || {}).SnapshotByTimeOffsetSet || [];
    if (snaps.length) {
      var ss = section("Snapshots");
      snaps.forEach(function (x) {
        (x.PicInfoSet || []).forEach(function (p) {
          ss.appendChild(el("figure", {}, el("img", { src: p.Url, class: "still" }), el("figcaption", {}, "Definition " + x.Definition + " at " + p.TimeOffset + " ms")));
        });
      });
      out.appendChild(ss);
    }
    var samples = (info.SampleSnapshotInfo || {}).SampleSnapshotSet || [];
    if (samples.length) {
      var sm = section("Sampled snapshots");
      samples.forEach(function (x) {
        (x.ImageUrlSet || []).forEach(function (u) { sm.appendChild(el("img", { src: u, class: "still" })); });
      });
      out.appendChild(sm);
    }
    var sprites = (info.ImageSpriteInfo || {}).ImageSpriteSet || [];
    if (sprites.length) {
      var sp = section("Sprites");
      sprites.forEach(function (x) {
        var vtt = el("pre", { class: "json vtt", "data-definition": String(x.Definition) }, "…");
        if (x.WebVttUrl) fetch(x.WebVttUrl).then(function (r) { return r.text(); }).then(function (t) { vtt.textContent = t.slice(0, 4000); }).catch(function () { vtt.textContent = "(VTT unavailable)"; });
        sp.appendChild(el("p", {}, "Definition " + x.Definition + " · " + (x.TotalCount || "") + " images · ", el("a", { href: x.WebVttUrl || "#" }, "VTT")));
        (x.ImageUrlSet || []).forEach(function (u) { sp.appendChild(el("img", { src: u, class: "sprite", "data-definition": String(x.Definition) })); });
        sp.appendChild(vtt);
      });
      out.appendChild(sp);
    }
    var gifs = (info.AnimatedGraphicsInfo || {}).AnimatedGraphicsSet || [];
    if (gifs.length) {
      var sg = section("Animated graphics");
      gifs.forEach(function (x) { sg.appendChild(el("img", { src: x.Url, class: "still" })); });
      out.appendChild(sg);
    }
    return out;
  }

  var currentFile = null;
  function delParts(parts) {
    if (!confirm("Delete " + (parts ? "this output" : "the whole media") + "?")) return;
    var p = { FileId: currentFile };
    if (parts) p.DeleteParts = parts;
    api("DeleteMedia", p).then(function () {
      toast("Deleted.");
      if (parts) route(); else location.hash = "#/media";
    }).catch(failed);
  }

  function flowStarter(fileId) {
    var s = section("Start a task flow");
    var procSel = el("select", { id: "flow-procedure" }, el("option", { value: "" }, "— procedure —"));
    var kindSel = el("select", { id: "flow-kind" });
    var defSel = el("select", { id: "flow-definition" });
    var kindNames = { Transcode: "TranscodeTaskSet", AdaptiveDynamicStreaming: "AdaptiveDynamicStreamingTaskSet",
      SnapshotByTimeOffset: "SnapshotByTimeOffsetTaskSet", SampleSnapshot: "SampleSnapshotTaskSet",
      ImageSprite: "ImageSpriteTaskSet", AnimatedGraphics: "AnimatedGraphicTaskSet" };
    KINDS.forEach(function (k) { kindSel.appendChild(el("option", { value: k[0] }, k[0])); });
    function loadDefs() {
      clear(defSel);
      api("Describe" + kindSel.value + "Templates", { Limit: 100 }).then(function (r) {
        (r[kindSel.value + "TemplateSet"] || []).forEach(function (t) {
          defSel.appendChild(el("option", { value: String(t.Definition) }, t.Definition + " " + (t.Name || "")));
        });
      }).catch(failed);
    }
    kindSel.addEventListener("change", loadDefs); loadDefs();
    api("DescribeProcedureTemplates", { Limit: 100 }).then(function (r) {
      (r.ProcedureTemplateSet || []).forEach(function (p) { procSel.appendChild(el("option", { value: p.Name }, p.Name)); });
    }).catch(failed);
    function started(r) { toast("Task flow " + r.TaskId + " started."); location.hash = "#/tasks/" + r.TaskId; }
    s.appendChild(el("p", { class: "bar" }, procSel, el("button", { id: "run-procedure", onclick: function () {
      if (!procSel.value) return toast("Pick a procedure.", true);
      api("ProcessMediaByProcedure", { FileId: fileId, ProcedureName: procSel.value }).then(started).catch(failed);
    } }, "Run procedure")));
    s.appendChild(el("p", { class: "bar" }, kindSel, defSel, el("button", { id: "run-template", onclick: function () {
      var task = {}; var item = { Definition: Number(defSel.value) };
      if (kindSel.value === "SnapshotByTimeOffset") item.ExtTimeOffsetSet = ["0s"];
      task[kindNames[kindSel.value]] = [item];
      api("ProcessMedia", { FileId: fileId, MediaProcessTask: task }).then(started).catch(failed);
    } }, "Run template")));
    return s;
  }

  function mediaPage(fileId) {
    currentFile = fileId;
    api("DescribeMediaInfos", { FileIds: [fileId] }).then(function (r) {
      var info = (r.MediaInfoSet || [])[0];
      if (!info) { main.appendChild(el("p", { class: "error" }, "No media " + fileId + " in this application.")); return; }
      var b = info.BasicInfo || {}, meta = info.MetaData || {};
      main.appendChild(el("h1", {}, b.Name || fileId));
      var top = el("div", { class: "columns" });
      var left = el("div", {}, player(b.MediaUrl));
      var facts = [["FileId", fileId], ["Type", b.Type], ["Class", b.ClassName], ["Created", b.CreateTime],
        ["Duration", meta.Duration + " s"], ["Size", bytes(meta.Size)], ["Resolution", meta.Width + "×" + meta.Height],
        ["Bitrate", meta.Bitrate + " bps"], ["Container", meta.Container], ["Expires", b.ExpireTime]];
      var dl = el("table", { class: "facts" });
      facts.forEach(function (f) { if (f[1] !== undefined && f[1] !== "") dl.appendChild(row([f[0], String(f[1])])); });
      top.appendChild(left); top.appendChild(el("div", {}, dl,
        el("p", {}, el("button", { class: "danger", id: "delete-media", onclick: function () { delParts(null); } }, "Delete media"))));
      main.appendChild(top);
      main.appendChild(flowStarter(fileId));
      main.appendChild(outputsOf(info));
      var raw = el("details", {}, el("summary", {}, "DescribeMediaInfos answer"), json(info));
      main.appendChild(raw);
    }).catch(failed);
  }

  // ------------------------------------------------------------------ upload

  function cosAuth(cert, method, path) {
    var now = Math.floor(Date.now() / 1000) - 60, kt = now + ";" + (now + 3600);
    var signKey = window.vodSha1.hmacHex(cert.SecretKey, kt);
    var fmt = method.toLowerCase() + "\n" + path + "\n\n\n";
    var toSign = "sha1\n" + kt + "\n" + window.vodSha1.sha1Hex(fmt) + "\n";
    var sig = window.vodSha1.hmacHex(signKey, toSign);
    return "q-sign-algorithm=sha1&q-ak=" + cert.SecretId + "&q-sign-time=" + kt + "&q-key-time=" + kt +
      "&q-header-list=&q-url-param-list=&q-signature=" + sig;
  }

  function uploadPage() {
    main.appendChild(el("h1", {}, "Upload"));
    var file = el("input", { type: "file", id: "upload-file", accept: "video/*,audio/*" });
    var name = el("input", { id: "upload-name", placeholder: "Media name (default: file name)", maxlength: "64" });
    var proc = el("select", { id: "upload-procedure" }, el("option", { value: "" }, "— no procedure —"));
    var bar = el("progress", { id: "upload-progress", max: "100", value: "0" });
    var status = el("p", { id: "upload-status" });
    api("DescribeProcedureTemplates", { Limit: 100 }).then(function (r) {
      (r.ProcedureTemplateSet || []).forEach(function (p) { proc.appendChild(el("option", { value: p.Name }, p.Name)); });
    }).catch(failed);
    var go = el("button", { id: "upload-go", onclick: function () {
      var f = file.files[0];
      if (!f) return toast("Choose a file.", true);
      var ext = (f.name.split(".").pop() || "").toLowerCase();
      var params = { MediaType: ext, MediaName: name.value || f.name.replace(/\.[^.]*$/, "") };
      if (proc.value) params.Procedure = proc.value;
      go.disabled = true;
      status.textContent = "ApplyUpload…";
      api("ApplyUpload", params).then(function (up) {
        return new Promise(function (resolve, reject) {
          var path = up.MediaStoragePath;
          var xhr = new XMLHttpRequest();
          xhr.open("PUT", location.origin + encodeURI(path));
          xhr.setRequestHeader("Authorization", cosAuth(up.TempCertificate, "PUT", path));
          xhr.setRequestHeader("x-cos-security-token", up.TempCertificate.Token);
          xhr.upload.onprogress = function (e) {
            if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); status.textContent = "Uploading " + bar.value + "%"; }
          };
          xhr.onload = function () { xhr.status === 200 ? resolve(up) : reject(new Error("COS answered " + xhr.status + ": " + xhr.responseText.slice(0, 300))); };
          xhr.onerror = function () { reject(new Error("The upload failed.")); };
          xhr.send(f);
        });
      }).then(function (up) {
        bar.value = 100; status.textContent = "CommitUpload…";
        return api("CommitUpload", { VodSessionKey: up.VodSessionKey });
      }).then(function (r) {
        status.textContent = "";
        status.appendChild(document.createTextNode("Uploaded: "));
        status.appendChild(el("a", { href: "#/media/" + r.FileId, id: "uploaded-file" }, r.FileId));
        if (proc.value) { status.appendChild(document.createTextNode(" · ")); status.appendChild(el("a", { href: "#/tasks" }, "task flows")); }
        go.disabled = false;
      }).catch(function (e) { go.disabled = false; status.textContent = e.message; failed(e); });
    } }, "Upload");
    main.appendChild(el("div", { class: "card" },
      el("p", {}, file), el("p", {}, name), el("p", {}, el("label", {}, "Procedure ", proc)), el("p", {}, go), el("p", {}, bar), status));
  }

  // ------------------------------------------------------------------ task flows

  function resultsOf(detail) {
    var pt = detail.ProcedureTask || detail.EditMediaTask || {};
    return pt.MediaProcessResultSet || [];
  }
  function subtaskBody(r) {
    var k = Object.keys(r).filter(function (x) { return x !== "Type"; })[0];
    return r[k] || {};
  }
  function liveUrl(taskId) {
    return "/console/live?SubAppId=" + encodeURIComponent(app) + (taskId ? "&TaskId=" + encodeURIComponent(taskId) : "");
  }

  function tasksPage() {
    main.appendChild(el("h1", {}, "Task flows"));
    var holder = el("div", { id: "task-list" }, "Connecting…");
    main.appendChild(holder);
    stream = new EventSource(liveUrl(null));
    stream.onmessage = function (e) {
      var snap = JSON.parse(e.data);
      var rows = (snap.TaskSet || []).map(function (t) {
        var subs = el("div", { class: "subs" });
        resultsOf(t.Detail || {}).forEach(function (r) {
          var b = subtaskBody(r);
          subs.appendChild(el("div", {}, r.Type + " " + (b.Status || "") + " ", progressBar(b.Progress)));
        });
        return row([el("a", { href: "#/tasks/" + t.TaskId }, t.TaskId), t.TaskType,
          el("span", { class: "status " + t.Status, "data-task": t.TaskId }, t.Status), t.FileId || "", t.CreateTime || "", subs]);
      });
      clear(holder).appendChild(table(["TaskId", "Type", "Status", "FileId", "Created", "Subtasks"], rows));
    };
    stream.addEventListener("error", function (e) { if (e.data) toast(JSON.parse(e.data).Message || "stream error", true); });
  }

  function taskPage(taskId) {
    main.appendChild(el("h1", {}, "Task flow " + taskId));
    var head = el("p", { id: "task-head" });
    var abort = el("button", { class: "danger", id: "abort-task", onclick: function () {
      api("ManageTask", { TaskId: taskId, OperationType: "Abort" }).then(function () { toast("Abort requested."); }).catch(failed);
    } }, "Abort");
    var subs = el("div", { id: "subtasks" });
    var evts = el("div", { id: "task-events" });
    main.appendChild(head); main.appendChild(el("p", {}, abort)); main.appendChild(subs);
    main.appendChild(el("h2", {}, "ProcedureStateChanged events"));
    main.appendChild(evts);
    var lastStatus = "";
    function loadEvents() {
      api("ConsoleTaskEvents", { TaskId: taskId }).then(function (r) {
        clear(evts);
        if (!(r.EventSet || []).length) evts.appendChild(el("p", {}, "No event yet (or this application does not ask for task flow events)."));
        (r.EventSet || []).forEach(function (e) {
          evts.appendChild(el("div", { class: "event" }, el("p", {}, "Event " + e.EventId + " · " + e.Mode + " · " + e.CreateTime), json(e.EventContent)));
        });
      }).catch(failed);
    }
    stream = new EventSource(liveUrl(taskId));
    stream.onmessage = function (e) {
      var d = JSON.parse(e.data).Detail || {};
      var pt = d.ProcedureTask || {};
      clear(head).appendChild(document.createTextNode(d.TaskType + " · "));
      head.appendChild(el("span", { class: "status " + d.Status, id: "task-status" }, d.Status));
      head.appendChild(document.createTextNode(" · FileId " + (pt.FileId || "") + " · created " + (d.CreateTime || "") +
        (pt.ErrCode ? " · error " + pt.ErrCode + " " + pt.Message : "")));
      abort.disabled = d.Status === "FINISH" || d.Status === "ABORTED";
      clear(subs);
      resultsOf(d).forEach(function (r, i) {
        var b = subtaskBody(r);
        subs.appendChild(el("div", { class: "subtask card" },
          el("h3", {}, (i + 1) + ". " + r.Type + " · ", el("span", { class: "status " + b.Status }, b.Status || ""), " ", progressBar(b.Progress)),
          b.ErrCode ? el("p", { class: "error" }, b.ErrCodeExt + " (" + b.ErrCode + "): " + b.Message) : "",
          el("details", {}, el("summary", {}, "Input"), json(b.Input || {})),
          el("details", { open: "" }, el("summary", {}, "Output"), json(b.Output || {}))));
      });
      if (d.Status !== lastStatus) { lastStatus = d.Status; loadEvents(); }
    };
    stream.addEventListener("error", function (e) { if (e.data) toast(JSON.parse(e.data).Message || "stream error", true); });
  }

  // ------------------------------------------------------------------ events

  function eventsPage() {
    main.appendChild(el("h1", {}, "Events"));
    var cfg = section("Configuration");
    var mode = el("select", { id: "ev-mode" }, el("option", { value: "PUSH" }, "PUSH (normal callback)"), el("option", { value: "PULL" }, "PULL (reliable callback)"));
    var url = el("input", { id: "ev-url", placeholder: "https://…", maxlength: "512", size: "50" });
    var key = el("input", { id: "ev-signkey", placeholder: "SignKey", maxlength: "32" });
    var up = el("select", { id: "ev-upload" }, el("option", { value: "ON" }, "ON"), el("option", { value: "OFF" }, "OFF"));
    var del = el("select", { id: "ev-delete" }, el("option", { value: "ON" }, "ON"), el("option", { value: "OFF" }, "OFF"));
    // Save waits for the current values: a late answer must not overwrite what was typed.
    var save = el("button", { id: "ev-save", disabled: "", onclick: function () {
      var p = { Mode: mode.value, NotificationUrl: url.value, UploadMediaCompleteEventSwitch: up.value, DeleteMediaCompleteEventSwitch: del.value };
      if (key.value) p.SignKey = key.value;
      api("ModifyEventConfig", p).then(function () { toast("Saved."); }).catch(failed);
    } }, "Save");
    api("DescribeEventConfig", {}).then(function (c) {
      mode.value = c.Mode; url.value = c.NotificationUrl || ""; up.value = c.UploadMediaCompleteEventSwitch; del.value = c.DeleteMediaCompleteEventSwitch;
      save.disabled = false;
    }).catch(failed);
    cfg.appendChild(el("div", { class: "form" },
      el("label", {}, "Mode ", mode), el("label", {}, "NotificationUrl ", url), el("label", {}, "SignKey ", key),
      el("label", {}, "Upload events ", up), el("label", {}, "Delete events ", del), save));
    main.appendChild(cfg);

    var pull = section("PULL backlog");
    var backlog = el("div", { id: "pull-backlog" });
    pull.appendChild(backlog);
    api("ConsolePeekEvents", { Limit: 20 }).then(function (r) {
      backlog.appendChild(el("p", {}, r.CountOfEventsToPull + " event(s) waiting to be pulled (peeking does not pull them)."));
      (r.EventSet || []).forEach(function (e) {
        backlog.appendChild(el("details", {}, el("summary", {}, "Event " + e.EventId + " · " + e.EventType + " · " + e.CreateTime + " · pulled " + e.Pulled + "×"), json(e.EventContent)));
      });
    }).catch(failed);
    main.appendChild(pull);

    var log = section("Deliveries");
    var holder = el("div", { id: "deliveries" });
    log.appendChild(el("p", {}, el("button", { onclick: function () { loadLog(); } }, "Refresh")));
    log.appendChild(holder);
    main.appendChild(log);
    function loadLog() {
      api("DescribeEventDeliveries", { Limit: 50 }).then(function (r) {
        var rows = (r.EventDeliverySet || []).map(function (d) {
          var attempts = el("div", {});
          (d.AttemptSet || []).forEach(function (a) {
            attempts.appendChild(el("div", { class: "attempt" }, a.Time + " → " + (a.StatusCode || "") + " " + (a.LatencyMs !== undefined ? a.LatencyMs + " ms" : "") + " " + (a.Error || "") + " " + (a.ResponseHead || "")));
          });
          return row([String(d.EventId), d.EventType, d.Mode, el("span", { class: "status " + d.Status }, d.Status), d.CreateTime, String(d.Attempts), attempts,
            el("button", { class: "resend", "data-event": String(d.EventId), onclick: function () {
              api("RedeliverEvents", { EventIds: [d.EventId] }).then(function () { toast("Event " + d.EventId + " queued again."); loadLog(); }).catch(failed);
            } }, "Resend")], { "data-event": String(d.EventId) });
        });
        clear(holder).appendChild(table(["Id", "Type", "Mode", "Status", "Created", "Attempts", "Attempt log", ""], rows));
        holder.appendChild(el("p", {}, (r.TotalCount || 0) + " event(s)"));
      }).catch(failed);
    }
    loadLog();
  }

  // ------------------------------------------------------------------ templates

  var EXAMPLES = {
    Transcode: { Name: "my-mp4", Container: "mp4", VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 800, Width: 640, Height: 0 }, AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 } },
    AdaptiveDynamicStreaming: { Name: "my-hls", Format: "HLS", StreamInfos: [{ Video: { Codec: "libx264", Fps: 25, Bitrate: 800, Width: 640, Height: 0 }, Audio: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 } }] },
    SnapshotByTimeOffset: { Name: "my-snapshot", Width: 320, Height: 0, Format: "jpg" },
    SampleSnapshot: { Name: "my-sample", SampleType: "Percent", SampleInterval: 10, Width: 320, Height: 0, Format: "jpg" },
    ImageSprite: { Name: "my-sprite", SampleType: "Time", SampleInterval: 1, RowCount: 5, ColumnCount: 5, Width: 160, Height: 90 },
    AnimatedGraphics: { Name: "my-gif", Format: "gif", Fps: 10, Width: 320, Height: 0, Quality: 75 },
    Procedure: { Name: "my-procedure", MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] } },
  };
  function editable(kind, t) {
    var out = {};
    (EDIT_FIELDS[kind] || []).forEach(function (k) { if (t[k] !== undefined && t[k] !== null) out[k] = t[k]; });
    return out;
  }

  function templatesPage(query) {
    var kind = query.kind || "Transcode";
    main.appendChild(el("h1", {}, "Templates and procedures"));
    var tabs = el("p", { class: "tabs" });
    KINDS.map(function (k) { return k[0]; }).concat(["Procedure"]).forEach(function (k) {
      tabs.appendChild(el("a", { href: "#/templates?kind=" + k, class: k === kind ? "on" : "" }, k));
    });
    main.appendChild(tabs);
    var editor = el("textarea", { id: "tpl-json", rows: "12", cols: "80", spellcheck: "false" });
    editor.value = JSON.stringify(EXAMPLES[kind], null, 2);
    var editing = null;
    var title = el("h2", { id: "tpl-title" }, "Create a " + kind + " template");
    var save = el("button", { id: "tpl-save", onclick: function () {
      var body;
      try { body = JSON.parse(editor.value); } catch (e) { return toast("Not JSON: " + e.message, true); }
      var action;
      if (kind === "Procedure") action = editing ? "ResetProcedureTemplate" : "CreateProcedureTemplate";
      else { action = (editing ? "Modify" : "Create") + kind + "Template"; if (editing) body.Definition = editing; }
      api(action, body).then(function (r) {
        toast((editing ? "Saved " : "Created ") + (r.Definition || body.Definition || body.Name || ""));
        route();
      }).catch(failed);
    } }, "Save");
    var list = el("div", { id: "tpl-list" });
    main.appendChild(list);
    main.appendChild(el("div", { class: "card" }, title, editor, el("p", {}, save, " ",
      el("button", { onclick: function () { editing = null; title.textContent = "Create a " + kind + " template"; editor.value = JSON.stringify(EXAMPLES[kind], null, 2); } }, "New"))));
    var action = kind === "Procedure" ? "DescribeProcedureTemplates" : "Describe" + kind + "Templates";
    api(action, { Limit: 100 }).then(function (r) {
      var set = r[kind + "TemplateSet"] || [];
      var rows = set.map(function (t) {
        var id = kind === "Procedure" ? t.Name : t.Definition;
        var custom = t.Type === "Custom";
        return row([String(kind === "Procedure" ? "" : t.Definition), t.Name || "", t.Type || "", t.Comment || "",
          el("details", {}, el("summary", {}, "JSON"), json(t)),
          custom ? el("span", {},
            el("button", { class: "edit", "data-id": String(id), onclick: function () {
              // (DescribeTranscodeTemplates answers Definition as a string, as Tencent does.)
              editing = kind === "Procedure" ? t.Name : Number(t.Definition);
              title.textContent = "Edit " + kind + " " + id;
              var e = editable(kind, t);
              editor.value = JSON.stringify(e, null, 2);
              editor.focus();
            } }, "Edit"), " ",
            el("button", { class: "danger delete", "data-id": String(id), onclick: function () {
              if (!confirm("Delete " + kind + " " + id + "?")) return;
              var p = kind === "Procedure" ? { Name: t.Name } : { Definition: Number(t.Definition) };
              api("Delete" + (kind === "Procedure" ? "Procedure" : kind) + "Template", p).then(function () { toast("Deleted " + id); route(); }).catch(failed);
            } }, "Delete")) : ""], { "data-id": String(id), class: custom ? "custom" : "preset" });
      });
      list.appendChild(table(["Definition", "Name", "Type", "Comment", "", ""], rows));
    }).catch(failed);
  }

  // ------------------------------------------------------------------ router

  function route() {
    closeStream();
    clear(main);
    var hash = location.hash.replace(/^#\/?/, "") || "media";
    var qs = hash.indexOf("?") >= 0 ? hash.slice(hash.indexOf("?") + 1) : "";
    var path = hash.split("?")[0].split("/");
    var query = {};
    new URLSearchParams(qs).forEach(function (v, k) { query[k] = v; });
    document.querySelectorAll("nav a").forEach(function (a) { a.className = a.getAttribute("href") === "#/" + path[0] ? "on" : ""; });
    if (path[0] === "media" && path[1]) mediaPage(decodeURIComponent(path[1]));
    else if (path[0] === "upload") uploadPage();
    else if (path[0] === "tasks" && path[1]) taskPage(decodeURIComponent(path[1]));
    else if (path[0] === "tasks") tasksPage();
    else if (path[0] === "events") eventsPage();
    else if (path[0] === "templates") templatesPage(query);
    else mediaList(query);
  }

  window.addEventListener("hashchange", route);
  setupApps();
  route();
})();
