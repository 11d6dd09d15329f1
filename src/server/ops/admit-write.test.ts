import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { encodeManifest } from "../../format/manifest.ts";
import { startTestGateway, type TestCreds, type TestGateway } from "../testing/harness.ts";

const stats = {
  files: 1,
  dirs: 1,
  bytes: 1,
  newFiles: 1,
  changedFiles: 0,
  unchangedFiles: 0,
  addedBytes: 1,
  storedBytes: 1,
};

async function multipartPut(s3: S3Client, bucket: string, key: string, body: Uint8Array) {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const part = await s3.send(
    new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: up.UploadId,
      PartNumber: 1,
      Body: body,
    }),
  );
  return s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: up.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
}

describe("admitObject: every write path validates manifests", () => {
  let gw: TestGateway;
  let a: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("admit-01");
  });
  after(async () => {
    await gw.close();
  });

  test("CompleteMultipartUpload refuses a body under manifests/ that is not a manifest", async () => {
    const bad = Buffer.from(JSON.stringify({ not: "a manifest" }));
    const key = `manifests/${createHash("sha256").update(bad).digest("hex")}`;
    await assert.rejects(
      multipartPut(gw.sdk(a), a.bucket, key, bad),
      (e: S3ServiceException) => e.name === "InvalidManifest" && e.$metadata.httpStatusCode === 400,
    );
    assert.equal(await gw.running.metadata.objects.get(a.bucket, key), undefined);
    // Misnamed (valid manifest, wrong id) is refused the same way.
    const m = encodeManifest({
      v: 1,
      snapshot: "e".repeat(64),
      host: "h",
      tags: [],
      time: "2020-01-01T00:00:00Z",
      stats,
      packs: [],
    });
    await assert.rejects(
      multipartPut(gw.sdk(a), a.bucket, `manifests/${"1".repeat(64)}`, m.bytes),
      (e: S3ServiceException) => e.name === "InvalidManifest",
    );
  });

  test("a valid manifest uploaded by multipart is recorded like a PutObject", async () => {
    const m = encodeManifest({
      v: 1,
      snapshot: "f".repeat(64),
      host: "web-01",
      tags: ["daily"],
      time: "2020-01-01T00:00:00Z",
      stats,
      packs: [],
    });
    const key = `manifests/${m.id}`;
    await multipartPut(gw.sdk(a), a.bucket, key, m.bytes);
    const rec = await gw.running.metadata.manifests.get(a.bucket, key);
    assert.equal(rec?.snapshot, "f".repeat(64));
    assert.deepEqual(rec.tags, ["daily"]);
  });
});
