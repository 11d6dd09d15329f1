import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { LocalStorage } from "../storage/local.ts";
import { startTestGateway, type TestCreds, type TestGateway } from "./testing/harness.ts";

let gw: TestGateway;
let a: TestCreds;
before(async () => {
  gw = await startTestGateway();
  a = await gw.addSource("adopt");
});
after(async () => {
  await gw.close();
});

test("PutObject and CompleteMultipartUpload commit the verified temp file via LocalStorage.putFileIfAbsent (never read into memory)", async () => {
  const storage = gw.running.gateway.deps.objects.storage;
  assert.ok(storage instanceof LocalStorage);
  const original = storage.putIfAbsent.bind(storage);
  storage.putIfAbsent = () => Promise.reject(new Error("the gateway read an upload into memory"));
  try {
    const s3 = gw.sdk(a);
    const small = randomBytes(50_000);
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "data/aa/small", Body: small }));
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1234);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: "data/bb/big" }),
    );
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: a.bucket,
        Key: "data/bb/big",
        UploadId,
        PartNumber: 1,
        Body: part1,
      }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({
        Bucket: a.bucket,
        Key: "data/bb/big",
        UploadId,
        PartNumber: 2,
        Body: part2,
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: a.bucket,
        Key: "data/bb/big",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag! },
            { PartNumber: 2, ETag: p2.ETag! },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "data/bb/big" }));
    assert.ok(
      Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([part1, part2])),
    );
    const gotSmall = await s3.send(
      new GetObjectCommand({ Bucket: a.bucket, Key: "data/aa/small" }),
    );
    assert.ok(Buffer.from(await gotSmall.Body!.transformToByteArray()).equals(small));
    // Write-once still holds on the adopted path.
    await assert.rejects(
      s3.send(
        new PutObjectCommand({ Bucket: a.bucket, Key: "data/aa/small", Body: randomBytes(10) }),
      ),
      { name: "ObjectImmutable" },
    );
  } finally {
    storage.putIfAbsent = original;
  }
});
