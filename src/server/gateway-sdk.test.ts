import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "./testing/harness.ts";

async function s3Code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.name;
    throw err;
  }
  return "OK";
}

describe("gateway with the AWS SDK v3 (default checksum settings)", () => {
  let gw: TestGateway;
  let a: TestCreds;
  let b: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("web-01");
    b = await gw.addSource("web-02");
  });
  after(async () => {
    await gw.close();
  });

  test("PutObject/GetObject/HeadObject round-trip byte-identical data", async () => {
    const s3 = gw.sdk(a);
    const data = randomBytes(300_000);
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "data/ab/obj1", Body: data }));
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "data/ab/obj1" }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
    const head = await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "data/ab/obj1" }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ETag, `"${createHash("md5").update(data).digest("hex")}"`);
  });

  test("write-once: different bytes refused, identical re-upload succeeds", async () => {
    const s3 = gw.sdk(a);
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "snapshots/once", Body: "first" }));
    assert.equal(
      await s3Code(
        s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "snapshots/once", Body: "first" })),
      ),
      "OK",
    );
    assert.equal(
      await s3Code(
        s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "snapshots/once", Body: "other" })),
      ),
      "ObjectImmutable",
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "snapshots/once" }));
    assert.equal(await got.Body!.transformToString(), "first");
  });

  test("If-None-Match: * under concurrency: exactly one of 10 writers wins", async () => {
    const s3 = gw.sdk(a);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s3Code(
          s3.send(
            new PutObjectCommand({
              Bucket: a.bucket,
              Key: "race/key",
              Body: `writer ${i}`,
              IfNoneMatch: "*",
            }),
          ),
        ),
      ),
    );
    assert.equal(results.filter((r) => r === "OK").length, 1);
    assert.equal(results.filter((r) => r === "PreconditionFailed").length, 9);
  });

  test("multipart upload end to end: create, parts, list, complete; completed object is write-once", async () => {
    const s3 = gw.sdk(a);
    const key = "data/mp/big";
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1234);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: key }),
    );
    assert.ok(UploadId);
    const r1 = await s3.send(
      new UploadPartCommand({ Bucket: a.bucket, Key: key, UploadId, PartNumber: 1, Body: part1 }),
    );
    const r2 = await s3.send(
      new UploadPartCommand({ Bucket: a.bucket, Key: key, UploadId, PartNumber: 2, Body: part2 }),
    );
    const ups = await s3.send(new ListMultipartUploadsCommand({ Bucket: a.bucket }));
    assert.ok(ups.Uploads?.some((u) => u.UploadId === UploadId && u.Key === key));
    const parts = await s3.send(new ListPartsCommand({ Bucket: a.bucket, Key: key, UploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, part1.length],
        [2, part2.length],
      ],
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: a.bucket,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: r1.ETag! },
            { PartNumber: 2, ETag: r2.ETag! },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: key }));
    assert.deepEqual(
      Buffer.from(await got.Body!.transformToByteArray()),
      Buffer.concat([part1, part2]),
    );
    assert.match(got.ETag ?? "", /^"[0-9a-f]{32}-2"$/);
    // A second multipart upload with different bytes onto the same key is refused.
    const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: key }));
    const p = await s3.send(
      new UploadPartCommand({
        Bucket: a.bucket,
        Key: key,
        UploadId: second.UploadId,
        PartNumber: 1,
        Body: "different",
      }),
    );
    const code = await s3Code(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: a.bucket,
          Key: key,
          UploadId: second.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag! }] },
        }),
      ),
    );
    assert.equal(code, "ObjectImmutable");
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: a.bucket, Key: key, UploadId: second.UploadId }),
    );
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: a.bucket }));
    assert.equal(after.Uploads?.some((u) => u.UploadId === second.UploadId) ?? false, false);
    assert.equal(
      await s3Code(
        s3.send(new ListPartsCommand({ Bucket: a.bucket, Key: key, UploadId: second.UploadId })),
      ),
      "NoSuchUpload",
    );
  });

  test("DeleteObject records a pending deletion; the object stays readable", async () => {
    const s3 = gw.sdk(a);
    await s3.send(
      new PutObjectCommand({ Bucket: a.bucket, Key: "snapshots/keepme", Body: "precious" }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: a.bucket, Key: "snapshots/keepme" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "snapshots/keepme" }));
    assert.equal(await got.Body!.transformToString(), "precious");
    const pending = await gw.running.metadata.deletions.list({
      bucket: a.bucket,
      state: "PENDING",
    });
    const d = pending.find((x) => x.key === "snapshots/keepme");
    assert.ok(d);
    assert.equal(d.reason, "user");
    assert.equal(d.requestedBy, a.accessKeyId);
    assert.ok(d.executeAfter - d.requestedAt >= 14 * 24 * 3600 * 1000);
  });

  test("DeleteObjects: pending for data, immediate for locks/, reported per key", async () => {
    const s3 = gw.sdk(a);
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "index/i1", Body: "idx" }));
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "locks/l1", Body: "lock" }));
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: a.bucket,
        Delete: { Objects: [{ Key: "index/i1" }, { Key: "locks/l1" }] },
      }),
    );
    assert.deepEqual(r.Deleted?.map((d) => d.Key).sort(), ["index/i1", "locks/l1"]);
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(
      await s3Code(s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "locks/l1" }))),
      "NotFound",
    );
    assert.equal(
      await s3Code(s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "index/i1" }))),
      "OK",
    );
  });

  test("isolation: a source cannot read, write, list or delete in another source's bucket", async () => {
    const sa = gw.sdk(a);
    await gw.sdk(b).send(new PutObjectCommand({ Bucket: b.bucket, Key: "secret", Body: "b's" }));
    assert.equal(
      await s3Code(sa.send(new GetObjectCommand({ Bucket: b.bucket, Key: "secret" }))),
      "AccessDenied",
    );
    assert.equal(
      await s3Code(sa.send(new PutObjectCommand({ Bucket: b.bucket, Key: "x", Body: "x" }))),
      "AccessDenied",
    );
    assert.equal(
      await s3Code(sa.send(new ListObjectsV2Command({ Bucket: b.bucket }))),
      "AccessDenied",
    );
    assert.equal(
      await s3Code(sa.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: "secret" }))),
      "AccessDenied",
    );
    await assert.rejects(
      sa.send(new HeadBucketCommand({ Bucket: b.bucket })),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 403,
    );
    const list = await sa.send(new ListBucketsCommand({}));
    assert.deepEqual(
      list.Buckets?.map((x) => x.Name),
      [a.bucket],
    );
    assert.equal((await gw.running.metadata.deletions.list({ bucket: b.bucket })).length, 0);
  });

  test("bucket creation and deletion are refused", async () => {
    const s3 = gw.sdk(a);
    assert.equal(
      await s3Code(s3.send(new CreateBucketCommand({ Bucket: "new-bucket" }))),
      "AccessDenied",
    );
    // Re-creating the own bucket answers like S3 does for an owner (409); nothing changes.
    assert.equal(
      await s3Code(s3.send(new CreateBucketCommand({ Bucket: a.bucket }))),
      "BucketAlreadyOwnedByYou",
    );
    assert.equal(
      await s3Code(s3.send(new CreateBucketCommand({ Bucket: b.bucket }))),
      "AccessDenied",
    );
    assert.equal(
      await s3Code(s3.send(new DeleteBucketCommand({ Bucket: a.bucket }))),
      "AccessDenied",
    );
  });

  test("HeadBucket and GetBucketLocation answer for the own bucket", async () => {
    const s3 = gw.sdk(a);
    await s3.send(new HeadBucketCommand({ Bucket: a.bucket }));
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: a.bucket }));
    assert.equal(loc.LocationConstraint ?? "", "");
  });

  test("ListObjects V1 with marker pages through everything", async () => {
    const s3 = gw.sdk(b);
    for (let i = 0; i < 5; i++)
      await s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: `v1/k${i}`, Body: String(i) }));
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const r = await s3.send(
        new ListObjectsCommand({
          Bucket: b.bucket,
          Prefix: "v1/",
          MaxKeys: 2,
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      seen.push(...(r.Contents ?? []).map((c) => c.Key!));
      if (!r.IsTruncated) break;
      marker = r.NextMarker ?? seen[seen.length - 1];
    }
    assert.deepEqual(seen, ["v1/k0", "v1/k1", "v1/k2", "v1/k3", "v1/k4"]);
  });
});
