// A Node.js test suite against an ephemeral vodflow (docs/testing-your-app.md):
// `vodflow serve --ephemeral --print-env` started once, its NAME=value lines read,
// the official tencentcloud-sdk-nodejs-vod pointed at it.
//
// Run: node --test ephemeral.test.js   (VODFLOW_CMD overrides the command, e.g.
// "python -m vodflow.cli"; tests/e2e/test_node_ephemeral.py runs it so).
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const readline = require("node:readline");
const tencentcloud = require("tencentcloud-sdk-nodejs-vod");

let server;
let env;

function startVodflow() {
  const [cmd, ...args] = (process.env.VODFLOW_CMD || "vodflow").split(" ");
  const child = spawn(cmd, [...args, "serve", "--ephemeral", "--print-env"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const found = {};
    const lines = readline.createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const at = line.indexOf("=");
      if (at > 0) found[line.slice(0, at)] = line.slice(at + 1);
      if (line === "VODFLOW_READY=1") resolve({ child, env: found });
    });
    child.on("exit", (code) => reject(new Error(`vodflow exited (${code})`)));
  });
}

function vodClient() {
  return new tencentcloud.vod.v20180717.Client({
    credential: { secretId: env.TENCENTCLOUD_SECRET_ID, secretKey: env.TENCENTCLOUD_SECRET_KEY },
    region: "",
    profile: { httpProfile: { endpoint: env.VODFLOW_HOST, protocol: `${env.VODFLOW_SCHEME}://` } },
  });
}

before(async () => {
  ({ child: server, env } = await startVodflow());
});

after(() => {
  server.kill("SIGTERM"); // the server removes its temporary data dir
});

test("a fresh application per test, and a task flow in it", async () => {
  const vod = vodClient();
  const { SubAppId } = await vod.CreateSubAppId({ Name: "node-test" });
  await vod.CreateProcedureTemplate({
    SubAppId,
    Name: "node-flow",
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
  });
  const { ProcedureTemplateSet } = await vod.DescribeProcedureTemplates({
    SubAppId,
    Names: ["node-flow"],
  });
  assert.equal(ProcedureTemplateSet[0].Name, "node-flow");
  const config = await vod.DescribeEventConfig({ SubAppId });
  assert.equal(config.Mode, "PULL");
});

test("Tencent's error codes come back as SDK errors", async () => {
  await assert.rejects(
    vodClient().DescribeTaskDetail({ TaskId: "1250000000-Procedure-nosuchtask" }),
    (err) => err.code.startsWith("ResourceNotFound") || err.code.startsWith("InvalidParameter"),
  );
});
