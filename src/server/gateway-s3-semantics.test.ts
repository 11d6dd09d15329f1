import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { signRequest } from "../sigv4/sign-request.ts";
import { sha256Hex } from "../sigv4/signing.ts";
import { startTestGateway, xmlField, type TestCreds, type TestGateway } from "./testing/harness.ts";

describe("S3 semantics real clients rely on", () => {
  let gw: TestGateway;
  let a: TestCreds;
  let etag = "";
  let modified = "";
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("sem-01");
    const r = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/obj`, body: "hello" });
    etag = String(r.headers.etag);
    const h = await gw.signed(a, { method: "HEAD", path: `/${a.bucket}/obj` });
    modified = String(h.headers["last-modified"]);
  });
  after(async () => {
    await gw.close();
  });

  const get = (headers: Record<string, string>, method = "GET") =>
    gw.signed(a, { method, path: `/${a.bucket}/obj`, headers });

  test("GET/HEAD honour If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since with S3's precedence", async () => {
    const past = "Sat, 01 Jan 2000 00:00:00 GMT";
    const future = "Fri, 01 Jan 2100 00:00:00 GMT";
    const cases: [Record<string, string>, number][] = [
      [{ "if-match": etag }, 200],
      [{ "if-match": '"nope"' }, 412],
      [{ "if-none-match": etag }, 304],
      [{ "if-none-match": '"nope"' }, 200],
      [{ "if-modified-since": modified }, 304],
      [{ "if-modified-since": past }, 200],
      [{ "if-unmodified-since": past }, 412],
      [{ "if-unmodified-since": future }, 200],
      // If-Match holds: If-Unmodified-Since is ignored.
      [{ "if-match": etag, "if-unmodified-since": past }, 200],
      // If-None-Match present and false: If-Modified-Since is ignored.
      [{ "if-none-match": '"nope"', "if-modified-since": future }, 200],
      [{ "if-modified-since": "garbage" }, 200],
    ];
    for (const [h, status] of cases) {
      assert.equal((await get(h)).status, status, `GET ${JSON.stringify(h)}`);
      assert.equal((await get(h, "HEAD")).status, status, `HEAD ${JSON.stringify(h)}`);
    }
  });

  test("response-* query parameters override GetObject's headers; user metadata carries nothing of ours", async () => {
    const r = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}/obj`,
      query:
        "response-cache-control=no-cache&response-content-disposition=attachment%3B%20filename%3Dx.txt&response-content-type=text%2Fplain",
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain");
    assert.equal(r.headers["cache-control"], "no-cache");
    assert.equal(r.headers["content-disposition"], "attachment; filename=x.txt");
    assert.deepEqual(
      Object.keys(r.headers).filter((h) => h.startsWith("x-amz-meta-")),
      [],
    );
  });

  test("ListObjectsV2 with fetch-owner names the owner, V1 always does, an empty continuation token starts over", async () => {
    const v2 = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}`,
      query: "fetch-owner=true&list-type=2",
    });
    assert.equal(xmlField(v2.body, "DisplayName"), "sem-01");
    const plain = await gw.signed(a, { method: "GET", path: `/${a.bucket}`, query: "list-type=2" });
    assert.equal(xmlField(plain.body, "DisplayName"), undefined);
    const v1 = await gw.signed(a, { method: "GET", path: `/${a.bucket}` });
    assert.equal(xmlField(v1.body, "ID"), a.accessKeyId);
    const sdk = await gw
      .sdk(a)
      .send(new ListObjectsV2Command({ Bucket: a.bucket, ContinuationToken: "" }));
    assert.deepEqual(
      sdk.Contents?.map((c) => c.Key),
      ["obj"],
    );
  });

  test("SSE-S3, SSE-KMS and SSE-C requests are refused with NotImplemented and nothing is stored", async () => {
    for (const h of [
      { "x-amz-server-side-encryption": "AES256" },
      {
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "k",
      },
      {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": Buffer.alloc(32).toString("base64"),
      },
    ]) {
      const r = await gw.signed(a, {
        method: "PUT",
        path: `/${a.bucket}/sse`,
        headers: h,
        body: "x",
      });
      assert.equal(r.status, 501, JSON.stringify(h));
      assert.equal(xmlField(r.body, "Code"), "NotImplemented");
    }
    assert.equal(await gw.running.metadata.objects.get(a.bucket, "sse"), undefined);
  });

  test("UploadPartCopy answers NotImplemented instead of storing an empty part", async () => {
    const s3 = gw.sdk(a);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: "copy" }));
    const r = await gw.signed(a, {
      method: "PUT",
      path: `/${a.bucket}/copy`,
      query: `partNumber=1&uploadId=${up.UploadId ?? ""}`,
      headers: { "x-amz-copy-source": `/${a.bucket}/obj` },
    });
    assert.equal(r.status, 501);
    assert.deepEqual(await gw.running.metadata.uploads.parts(up.UploadId ?? ""), []);
  });

  test("a repeated CompleteMultipartUpload of a finished upload returns the same 200", async () => {
    const s3 = gw.sdk(a);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: a.bucket, Key: "mpu" }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: a.bucket,
        Key: "mpu",
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: "part one",
      }),
    );
    const done = () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: a.bucket,
          Key: "mpu",
          UploadId: up.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
    const first = await done();
    const again = await done();
    assert.equal(again.ETag, first.ETag);
    const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: "mpu" }));
    assert.equal(await got.Body?.transformToString(), "part one");
    // Other parts than the stored object's: still NoSuchUpload.
    await assert.rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: a.bucket,
          Key: "mpu",
          UploadId: up.UploadId,
          MultipartUpload: {
            Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }],
          },
        }),
      ),
      (e: S3ServiceException) => e.name === "NoSuchUpload",
    );
  });

  test("SigV4 over a header whose value is UTF-8 (non-ASCII) verifies", async () => {
    const headers = { host: gw.host, "x-amz-meta-name": "Zoë Ünïcødé", "content-length": "2" };
    const s = signRequest(
      {
        method: "PUT",
        path: `/${a.bucket}/utf8`,
        query: "",
        headers,
        payloadHash: sha256Hex(Buffer.from("hi")),
      },
      { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
      { region: "us-east-1", time: Date.now() },
    );
    const head =
      `PUT /${a.bucket}/utf8 HTTP/1.1\r\n` +
      Object.entries(s.headers)
        .map(([k, v]) => `${k}: ${String(v)}\r\n`)
        .join("") +
      "Connection: close\r\n\r\nhi";
    const text = await new Promise<string>((resolve) => {
      const sock = connect(gw.port, "127.0.0.1", () => sock.write(Buffer.from(head, "utf8")));
      let t = "";
      sock.on("data", (b: Buffer) => {
        t += b.toString();
        if (t.includes("\r\n\r\n")) sock.destroy();
      });
      sock.on("close", () => {
        resolve(t);
      });
    });
    assert.match(text, /^HTTP\/1\.1 200 /, text);
  });

  test("Expect: 100-continue is answered only after authentication", async () => {
    const ask = (headers: string) =>
      new Promise<string>((resolve) => {
        const sock = connect(gw.port, "127.0.0.1", () => {
          sock.write(
            `PUT /${a.bucket}/cont HTTP/1.1\r\nHost: ${gw.host}\r\n${headers}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
          );
        });
        let t = "";
        sock.on("data", (b: Buffer) => {
          t += b.toString();
          if (t.includes("\r\n\r\n")) sock.destroy();
        });
        sock.on("close", () => {
          resolve(t);
        });
      });
    // Unsigned: the refusal comes first, never a 100.
    assert.match(await ask(""), /^HTTP\/1\.1 403 /);
    await assert.rejects(
      gw.sdk(a).send(new PutObjectCommand({ Bucket: "someone-else", Key: "k", Body: "x" })),
      (e: S3ServiceException) => e.name === "AccessDenied",
    );
  });

  test("stored checksums come back with ChecksumMode ENABLED (and only then)", async () => {
    const s3 = gw.sdk(a);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: a.bucket,
        Key: "crc",
        Body: "checksummed",
        ChecksumAlgorithm: "CRC32",
      }),
    );
    assert.ok(put.ChecksumCRC32 !== undefined);
    const on = await s3.send(
      new GetObjectCommand({ Bucket: a.bucket, Key: "crc", ChecksumMode: "ENABLED" }),
    );
    assert.equal(on.ChecksumCRC32, put.ChecksumCRC32);
    await on.Body?.transformToString();
    const off = await gw.signed(a, { method: "GET", path: `/${a.bucket}/crc` });
    assert.equal(off.headers["x-amz-checksum-crc32"], undefined);
  });

  test("PutObject If-Match: 404 on a missing key, 412 on another ETag, the write-once outcome otherwise", async () => {
    const put = (key: string, ifMatch: string, body = "hello") =>
      gw.signed(a, {
        method: "PUT",
        path: `/${a.bucket}/${key}`,
        headers: { "if-match": ifMatch },
        body,
      });
    assert.equal((await put("missing", "*")).status, 404);
    assert.equal((await put("obj", '"00000000000000000000000000000000"')).status, 412);
    const same = await put("obj", etag);
    assert.equal(same.status, 200);
    assert.equal(same.headers["x-coffer-write"], "identical");
    assert.equal((await put("obj", etag, "other bytes")).status, 409);
  });
});
