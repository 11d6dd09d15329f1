import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "./testing/harness.ts";

describe("object headers: stored and returned as S3 does", () => {
  let gw: TestGateway;
  let a: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("hdr-01");
  });
  after(async () => {
    await gw.close();
  });

  const expires = new Date("2030-01-01T00:00:00Z");
  const sent = {
    ContentType: "text/html; charset=utf-8",
    CacheControl: "max-age=60",
    Expires: expires,
    ContentEncoding: "gzip",
    ContentDisposition: 'attachment; filename="x.html"',
    ContentLanguage: "fr",
    Metadata: { mtime: "1700000000.5", owner: "zoe" },
  };

  test("PutObject: Content-Type, Cache-Control, Expires, Content-Encoding, Content-Disposition, Content-Language and x-amz-meta-* come back on GET and HEAD", async () => {
    const s3 = gw.sdk(a);
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "page", Body: "<p>", ...sent }));
    for (const r of [
      await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "page" })),
      await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "page" })),
    ]) {
      assert.equal(r.ContentType, sent.ContentType);
      assert.equal(r.CacheControl, sent.CacheControl);
      assert.equal(r.ExpiresString, expires.toUTCString());
      assert.equal(r.ContentEncoding, "gzip");
      assert.equal(r.ContentDisposition, sent.ContentDisposition);
      assert.equal(r.ContentLanguage, "fr");
      assert.deepEqual(r.Metadata, sent.Metadata);
    }
    // An identical re-upload with other headers changes nothing (write-once).
    await s3.send(
      new PutObjectCommand({
        Bucket: a.bucket,
        Key: "page",
        Body: "<p>",
        ContentType: "text/plain",
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "page" }));
    assert.equal(h.ContentType, sent.ContentType);
  });

  test("multipart uploads keep CreateMultipartUpload's headers; an object without any gets application/octet-stream and no metadata", async () => {
    const s3 = gw.sdk(a);
    const up = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: a.bucket,
        Key: "mp",
        ContentType: "video/mp4",
        Metadata: { a: "b" },
      }),
    );
    const p = await s3.send(
      new UploadPartCommand({
        Bucket: a.bucket,
        Key: "mp",
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: "x",
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: a.bucket,
        Key: "mp",
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "mp" }));
    assert.equal(h.ContentType, "video/mp4");
    assert.deepEqual(h.Metadata, { a: "b" });
    const raw = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/bare`, body: "b" });
    assert.equal(raw.status, 200);
    const bare = await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "bare" }));
    assert.equal(bare.ContentType, "application/octet-stream");
    assert.deepEqual(bare.Metadata, {});
  });

  test("user metadata over 2 KB is refused with MetadataTooLarge and nothing is stored", async () => {
    await assert.rejects(
      gw
        .sdk(a)
        .send(
          new PutObjectCommand({
            Bucket: a.bucket,
            Key: "fat",
            Body: "x",
            Metadata: { big: "v".repeat(2100) },
          }),
        ),
      (e: S3ServiceException) => e.name === "MetadataTooLarge",
    );
    assert.equal(await gw.running.metadata.objects.get(a.bucket, "fat"), undefined);
  });
});
