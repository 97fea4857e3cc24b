// The seed story with the official Node.js clients, as a Node app would run it:
// ApplyUpload, a COS upload with cos-nodejs-sdk-v5, CommitUpload, ProcessMedia,
// PullEvents/ConfirmEvents until the flow's event, then DescribeTaskDetail.
//
// Usage: node flow.js <endpoint host:port> <http|https> <clip path> [signMethod] [GET|POST]
// (VODFLOW_SECRET_ID / VODFLOW_SECRET_KEY in the environment; NODE_EXTRA_CA_CERTS
// trusts a private CA for https). Prints one JSON object with what each step returned;
// tests/e2e/test_node_sdk.py asserts on it.
"use strict";

const tencentcloud = require("tencentcloud-sdk-nodejs-vod");
const COS = require("cos-nodejs-sdk-v5");

const [endpoint, scheme, clipPath, signMethod, reqMethod] = process.argv.slice(2);

const VodClient = tencentcloud.vod.v20180717.Client;
const vod = new VodClient({
  credential: {
    secretId: process.env.VODFLOW_SECRET_ID,
    secretKey: process.env.VODFLOW_SECRET_KEY,
  },
  region: "",
  profile: {
    signMethod: signMethod || "TC3-HMAC-SHA256",
    httpProfile: { endpoint, protocol: `${scheme}://`, reqMethod: reqMethod || "POST" },
  },
});

function cosPut(applied) {
  const cert = applied.TempCertificate;
  const cos = new COS({
    SecretId: cert.SecretId,
    SecretKey: cert.SecretKey,
    SecurityToken: cert.Token,
    Domain: endpoint, // every object request goes to vodflow itself
    Protocol: `${scheme}:`,
  });
  return new Promise((resolve, reject) => {
    cos.uploadFile(
      {
        Bucket: applied.StorageBucket,
        Region: applied.StorageRegion,
        Key: applied.MediaStoragePath,
        FilePath: clipPath,
      },
      (err, data) => (err ? reject(new Error(JSON.stringify(err))) : resolve(data)),
    );
  });
}

async function main() {
  const out = {};
  const applied = await vod.ApplyUpload({ MediaType: "mp4", MediaName: "node clip" });
  out.applied = { bucket: applied.StorageBucket, key: applied.MediaStoragePath };
  const put = await cosPut(applied);
  out.cosStatus = put.statusCode;
  const committed = await vod.CommitUpload({ VodSessionKey: applied.VodSessionKey });
  out.fileId = committed.FileId;
  out.mediaUrl = committed.MediaUrl;
  const processed = await vod.ProcessMedia({
    FileId: committed.FileId,
    MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }] },
  });
  out.taskId = processed.TaskId;
  out.events = [];
  for (let round = 0; round < 60 && !out.finished; round++) {
    const pulled = await vod.PullEvents({});
    for (const event of pulled.EventSet) {
      await vod.ConfirmEvents({ EventHandles: [event.EventHandle] });
      const flow = event.ProcedureStateChangeEvent;
      out.events.push({ type: event.EventType, taskId: flow && flow.TaskId, status: flow && flow.Status });
      if (event.EventType === "ProcedureStateChanged" && flow.TaskId === processed.TaskId && flow.Status === "FINISH") {
        out.finished = true;
      }
    }
  }
  const detail = await vod.DescribeTaskDetail({ TaskId: processed.TaskId });
  const snapshot = detail.ProcedureTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask;
  out.detail = {
    taskType: detail.TaskType,
    status: detail.Status,
    fileId: detail.ProcedureTask.FileId,
    snapshotStatus: snapshot.Status,
    picUrls: snapshot.Output.PicInfoSet.map((p) => p.Url),
    timeOffsets: snapshot.Output.PicInfoSet.map((p) => p.TimeOffset),
  };
  // An error answer arrives as the SDK's TencentCloudSDKHttpException with Tencent's code.
  try {
    await vod.ProcessMedia({ FileId: committed.FileId, TasksPriority: 11 });
  } catch (err) {
    out.error = { code: err.code, requestId: err.requestId };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(`node flow failed: ${err && (err.stack || JSON.stringify(err))}\n`);
  if (err && err.code) process.stderr.write(`code=${err.code} message=${err.message}\n`);
  process.exit(1);
});
