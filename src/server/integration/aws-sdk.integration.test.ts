import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import {
  assertMultipart,
  assertPendingDeletion,
  assertStored,
  assertUntouched,
  sdkFor,
  seedObject,
} from "./testing/checks.ts";
import {
  BIG_FILE_BYTES,
  startGatewayProcess,
  type GatewayProcess,
  type SourceCreds,
} from "./testing/gateway-process.ts";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.name;
    throw err;
  }
  return "OK";
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

// The SDK's defaults since 3.729: CRC32 on every upload, sent as an aws-chunked trailer
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER), and response checksum validation when offered.
describe("AWS SDK v3 for JavaScript with its default checksum settings against a coffer-server process (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let b: SourceCreds;
  let s3: S3Client;
  let seeded: { key: string; sha: string };
  const big = pseudoRandomBytes(BIG_FILE_BYTES, 47);
  const bigSha = sha(big);

  before(async () => {
    gw = await startGatewayProcess();
    a = await gw.addSource("sdk-a");
    b = await gw.addSource("sdk-b");
    s3 = sdkFor(gw, a);
    seeded = await seedObject(gw, b);
  });
  after(async () => {
    s3.destroy();
    await gw.stop();
  });

  test("PutObject (CRC32 trailer), multipart >64 MiB (CRC32 per part), ListObjectsV2, GetObject byte-identical", async () => {
    const small = Buffer.from("hello from the AWS SDK\n");
    const put = await s3.send(
      new PutObjectCommand({ Bucket: a.bucket, Key: "sdk/small.txt", Body: small }),
    );
    assert.ok(put.ChecksumCRC32 !== undefined, "the default CRC32 checksum was not echoed");
    const key = "sdk/big.bin";
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: key }),
    );
    const partSize = 16 * 1024 * 1024;
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (let off = 0, n = 1; off < big.length; off += partSize, n++) {
      const r = await s3.send(
        new UploadPartCommand({
          Bucket: a.bucket,
          Key: key,
          UploadId,
          PartNumber: n,
          Body: big.subarray(off, off + partSize),
        }),
      );
      parts.push({ PartNumber: n, ETag: r.ETag! });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: a.bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    assertMultipart(gw, a.bucket, key);
    assertStored(gw, a.bucket, key, bigSha);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: a.bucket, Prefix: "sdk/" }));
    assert.deepEqual(
      list.Contents?.map((o) => [o.Key, o.Size]),
      [
        ["sdk/big.bin", BIG_FILE_BYTES],
        ["sdk/small.txt", small.length],
      ],
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: key }));
    assert.equal(sha(await got.Body!.transformToByteArray()), bigSha);
    const range = await s3.send(
      new GetObjectCommand({ Bucket: a.bucket, Key: key, Range: "bytes=1000-1999" }),
    );
    assert.ok(
      Buffer.from(await range.Body!.transformToByteArray()).equals(big.subarray(1000, 2000)),
    );
  });

  test("DeleteObject and DeleteObjects are made pending: the objects stay readable and on disk", async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: a.bucket, Key: "sdk/big.bin" }));
    assertPendingDeletion(gw, a, "sdk/big.bin", bigSha);
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: a.bucket,
        Delete: { Objects: [{ Key: "sdk/small.txt" }] },
      }),
    );
    assert.deepEqual(
      r.Deleted?.map((d) => d.Key),
      ["sdk/small.txt"],
    );
    assertPendingDeletion(gw, a, "sdk/small.txt", sha(Buffer.from("hello from the AWS SDK\n")));
    const head = await s3.send(new HeadObjectCommand({ Bucket: a.bucket, Key: "sdk/big.bin" }));
    assert.equal(head.ContentLength, BIG_FILE_BYTES);
  });

  test("source A's credentials cannot read, list, write or delete in B, nor create/delete/list other buckets", async () => {
    assert.equal(
      await code(s3.send(new GetObjectCommand({ Bucket: b.bucket, Key: seeded.key }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new ListObjectsV2Command({ Bucket: b.bucket }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: "intruder", Body: "x" }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: "intruder" }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: seeded.key }))),
      "AccessDenied",
    );
    assert.equal(
      await code(
        s3.send(
          new DeleteObjectsCommand({
            Bucket: b.bucket,
            Delete: { Objects: [{ Key: seeded.key }] },
          }),
        ),
      ),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new CreateBucketCommand({ Bucket: "brand-new-bucket" }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new DeleteBucketCommand({ Bucket: b.bucket }))),
      "AccessDenied",
    );
    assert.equal(
      await code(s3.send(new DeleteBucketCommand({ Bucket: a.bucket }))),
      "AccessDenied",
    );
    const buckets = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      buckets.Buckets?.map((x) => x.Name),
      [a.bucket],
    );
    assertUntouched(gw, b, seeded);
  });
});
