import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { checksumBase64 } from "../sigv4/checksum.ts";
import { encodeChunked, streamingContentSha256 } from "../sigv4/encode-chunked.ts";
import { presignUrl } from "../sigv4/presign-url.ts";
import { signRequest } from "../sigv4/sign-request.ts";
import {
  sendTruncated,
  startTestGateway,
  xmlField,
  type TestCreds,
  type TestGateway,
} from "./testing/harness.ts";

describe("gateway SigV4: payload modes and refusals (hand-signed requests)", () => {
  let gw: TestGateway;
  let a: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("sig-01");
  });
  after(async () => {
    await gw.close();
  });
  const stored = async (key: string): Promise<boolean> =>
    (await gw.running.metadata.objects.get(a.bucket, key)) !== undefined;
  const creds = (): { accessKeyId: string; secretAccessKey: string } => ({
    accessKeyId: a.accessKeyId,
    secretAccessKey: a.secretAccessKey,
  });

  /** Signs and sends an aws-chunked PUT; `tamper` edits the encoded body before sending. */
  async function chunkedPut(
    key: string,
    data: Buffer,
    o: {
      signed: boolean;
      trailer?: { algorithm: "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256"; value?: string };
      tamper?: (b: Buffer) => Buffer;
    },
  ) {
    const path = `/${a.bucket}/${key}`;
    const contentSha = streamingContentSha256(o.signed, o.trailer !== undefined);
    const extra: Record<string, string> = {
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": String(data.length),
    };
    if (o.trailer) extra["x-amz-trailer"] = `x-amz-checksum-${o.trailer.algorithm.toLowerCase()}`;
    const headers: Record<string, string> = { host: gw.host, ...extra };
    const s = signRequest({ method: "PUT", path, headers, payloadHash: contentSha }, creds(), {
      region: "us-east-1",
      time: Date.now(),
    });
    const enc = encodeChunked(data, {
      chunkSize: 8192,
      ...(o.trailer ? { trailer: o.trailer } : {}),
      ...(o.signed
        ? {
            signing: {
              signingKey: s.signingKey,
              amzDate: s.amzDate,
              scope: s.scope,
              seedSignature: s.signature,
            },
          }
        : {}),
    });
    const body = o.tamper ? o.tamper(enc.body) : enc.body;
    return gw.raw({
      method: "PUT",
      path,
      headers: { ...s.headers, "content-length": String(body.length) },
      body,
    });
  }

  test("hex payload: a matching SHA-256 is stored, a mismatching one is refused and nothing stored", async () => {
    const ok = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/hex/ok`, body: "hello" });
    assert.equal(ok.status, 200);
    const bad = await gw.signed(a, {
      method: "PUT",
      path: `/${a.bucket}/hex/bad`,
      body: "hello",
      payloadHash: "0".repeat(64),
    });
    assert.equal(bad.status, 400);
    assert.equal(xmlField(bad.body, "Code"), "XAmzContentSHA256Mismatch");
    assert.equal(await stored("hex/bad"), false);
  });

  test("UNSIGNED-PAYLOAD is accepted", async () => {
    const r = await gw.signed(a, {
      method: "PUT",
      path: `/${a.bucket}/unsigned/1`,
      body: "x",
      payloadHash: "UNSIGNED-PAYLOAD",
    });
    assert.equal(r.status, 200);
    assert.equal(await stored("unsigned/1"), true);
  });

  test("Content-MD5 and x-amz-checksum-* headers are verified (BadDigest, nothing stored)", async () => {
    const r = await gw.signed(a, {
      method: "PUT",
      path: `/${a.bucket}/md5/bad`,
      body: "abc",
      headers: { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" },
    });
    assert.equal(xmlField(r.body, "Code"), "BadDigest");
    const c = await gw.signed(a, {
      method: "PUT",
      path: `/${a.bucket}/crc/bad`,
      body: "abc",
      headers: { "x-amz-checksum-crc32": checksumBase64("CRC32", Buffer.from("abd")) },
    });
    assert.equal(xmlField(c.body, "Code"), "BadDigest");
    assert.equal(await stored("md5/bad"), false);
    assert.equal(await stored("crc/bad"), false);
  });

  test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk signature verified; a tampered chunk is refused", async () => {
    const data = randomBytes(40_000);
    assert.equal((await chunkedPut("chunked/ok", data, { signed: true })).status, 200);
    const got = await gw.signed(a, { method: "GET", path: `/${a.bucket}/chunked/ok` });
    assert.deepEqual(got.body, data);
    const tampered = await chunkedPut("chunked/tampered", data, {
      signed: true,
      tamper: (b) => {
        const c = Buffer.from(b);
        c[20_000] = (c[20_000] ?? 0) ^ 1; // a payload byte inside the third chunk
        return c;
      },
    });
    assert.equal(tampered.status, 403);
    assert.equal(xmlField(tampered.body, "Code"), "SignatureDoesNotMatch");
    assert.equal(await stored("chunked/tampered"), false);
  });

  for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
    test(`aws-chunked trailer ${algorithm}: verified, and a wrong trailer checksum stores nothing`, async () => {
      const data = randomBytes(20_000);
      for (const signed of [false, true]) {
        const key = `trailer/${algorithm}/${signed ? "signed" : "unsigned"}`;
        const ok = await chunkedPut(key, data, { signed, trailer: { algorithm } });
        assert.equal(ok.status, 200, ok.body.toString());
        assert.equal(
          ok.headers[`x-amz-checksum-${algorithm.toLowerCase()}`],
          checksumBase64(algorithm, data),
        );
        const wrong = checksumBase64(algorithm, Buffer.from("something else"));
        const bad = await chunkedPut(`${key}-bad`, data, {
          signed,
          trailer: { algorithm, value: wrong },
        });
        assert.equal(bad.status, 400);
        assert.equal(xmlField(bad.body, "Code"), "BadDigest");
        assert.equal(await stored(`${key}-bad`), false);
      }
    });
  }

  test("a truncated body is refused and nothing is stored", async () => {
    const path = `/${a.bucket}/trunc/1`;
    const full = randomBytes(10_000);
    const s = signRequest(
      {
        method: "PUT",
        path,
        headers: { host: gw.host, "content-length": String(full.length) },
        body: full,
      },
      creds(),
      { region: "us-east-1", time: Date.now() },
    );
    const head = `PUT ${path} HTTP/1.1\r\n${Object.entries(s.headers)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join("\r\n")}\r\n\r\n`;
    await sendTruncated(gw.port, head, full.subarray(0, 4000));
    // And a chunked upload cut short (the final chunk never comes).
    const cut = await chunkedPut("trunc/2", randomBytes(30_000), {
      signed: true,
      tamper: (b) => b.subarray(0, 20_000),
    });
    assert.equal(xmlField(cut.body, "Code"), "IncompleteBody");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await stored("trunc/1"), false);
    assert.equal(await stored("trunc/2"), false);
  });

  test("clock skew over 15 minutes → RequestTimeTooSkewed", async () => {
    const r = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}/`,
      query: "list-type=2",
      time: Date.now() - 16 * 60 * 1000,
    });
    assert.equal(r.status, 403);
    assert.equal(xmlField(r.body, "Code"), "RequestTimeTooSkewed");
    const ok = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}/`,
      query: "list-type=2",
      time: Date.now() - 14 * 60 * 1000,
    });
    assert.equal(ok.status, 200);
  });

  test("a replayed signed PUT is refused once outside the window, and stores nothing", async () => {
    const path = `/${a.bucket}/replay/1`;
    const body = Buffer.from("replayed");
    const s = signRequest(
      {
        method: "PUT",
        path,
        headers: { host: gw.host, "content-length": String(body.length) },
        body,
      },
      creds(),
      {
        region: "us-east-1",
        time: Date.now(),
      },
    );
    gw.clockOffset = 16 * 60 * 1000; // the attacker replays it 16 minutes later
    try {
      const r = await gw.raw({ method: "PUT", path, headers: s.headers, body });
      assert.equal(r.status, 403);
      assert.equal(xmlField(r.body, "Code"), "RequestTimeTooSkewed");
    } finally {
      gw.clockOffset = 0;
    }
    assert.equal(await stored("replay/1"), false);
  });

  test("an unknown access key → InvalidAccessKeyId; a wrong secret → SignatureDoesNotMatch", async () => {
    const unknown = await gw.signed(
      { ...a, accessKeyId: "CONOSUCHKEY000000000" },
      { method: "GET", path: `/${a.bucket}/`, query: "list-type=2" },
    );
    assert.equal(unknown.status, 403);
    assert.equal(xmlField(unknown.body, "Code"), "InvalidAccessKeyId");
    const wrong = await gw.signed(
      { ...a, secretAccessKey: "x".repeat(40) },
      { method: "PUT", path: `/${a.bucket}/wrong`, body: "w" },
    );
    assert.equal(xmlField(wrong.body, "Code"), "SignatureDoesNotMatch");
    assert.equal(await stored("wrong"), false);
    const anon = await gw.raw({ method: "GET", path: `/${a.bucket}/wrong` });
    assert.equal(xmlField(anon.body, "Code"), "AccessDenied");
  });

  test("presigned GET and PUT work; an expired presigned URL is refused", async () => {
    const put = presignUrl(
      { method: "PUT", path: `/${a.bucket}/presigned/1`, headers: { host: gw.host } },
      creds(),
      { region: "us-east-1", time: Date.now(), expiresSeconds: 60 },
    );
    const p = await gw.raw({
      method: "PUT",
      path: put.pathAndQuery,
      headers: { "content-length": "9" },
      body: "presigned",
    });
    assert.equal(p.status, 200, p.body.toString());
    const get = presignUrl(
      { method: "GET", path: `/${a.bucket}/presigned/1`, headers: { host: gw.host } },
      creds(),
      { region: "us-east-1", time: Date.now(), expiresSeconds: 60 },
    );
    const g = await gw.raw({ method: "GET", path: get.pathAndQuery });
    assert.equal(g.body.toString(), "presigned");
    const old = presignUrl(
      { method: "GET", path: `/${a.bucket}/presigned/1`, headers: { host: gw.host } },
      creds(),
      { region: "us-east-1", time: Date.now() - 120_000, expiresSeconds: 60 },
    );
    const e = await gw.raw({ method: "GET", path: old.pathAndQuery });
    assert.equal(e.status, 403);
    assert.equal(xmlField(e.body, "Code"), "AccessDenied");
  });

  test("virtual-host addressing (bucket.host) reaches the same bucket", async () => {
    const vhost = `${a.bucket}.localhost:${gw.port}`;
    const body = Buffer.from("vhost");
    const s = signRequest(
      { method: "PUT", path: "/vh/1", headers: { host: vhost, "content-length": "5" }, body },
      creds(),
      { region: "us-east-1", time: Date.now() },
    );
    const r = await gw.raw({ method: "PUT", path: "/vh/1", headers: s.headers, body });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(await stored("vh/1"), true);
  });

  test("bad keys (.., NUL, over 1024 bytes) are refused and nothing is stored", async () => {
    for (const [raw, code] of [
      ["a/../b", "InvalidArgument"],
      ["a/%00b", "InvalidArgument"],
      ["..", "InvalidArgument"],
      ["k".repeat(1025), "KeyTooLongError"],
    ] as const) {
      const r = await gw.signed(a, { method: "PUT", path: `/${a.bucket}/${raw}`, body: "bad" });
      assert.equal(r.status, 400, raw);
      assert.equal(xmlField(r.body, "Code"), code, raw);
    }
    assert.equal((await gw.running.metadata.objects.page(a.bucket, "a/", "", 10)).length, 0);
  });

  test("HEAD errors carry no body", async () => {
    const r = await gw.signed(a, { method: "HEAD", path: `/${a.bucket}/missing` });
    assert.equal(r.status, 404);
    assert.equal(r.body.length, 0);
    const denied = await gw.signed(a, { method: "HEAD", path: `/other-bucket/missing` });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.length, 0);
  });

  test("DeleteObject answers x-coffer-deletion: pending; locks/ are deleted at once", async () => {
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/data/00/d1`, body: "data" });
    const d = await gw.signed(a, { method: "DELETE", path: `/${a.bucket}/data/00/d1` });
    assert.equal(d.status, 204);
    assert.equal(d.headers["x-coffer-deletion"], "pending");
    assert.equal(
      (await gw.signed(a, { method: "GET", path: `/${a.bucket}/data/00/d1` })).body.toString(),
      "data",
    );
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/locks/abc`, body: "lock" });
    const l = await gw.signed(a, { method: "DELETE", path: `/${a.bucket}/locks/abc` });
    assert.equal(l.status, 204);
    assert.equal(l.headers["x-coffer-deletion"], "destroyed");
    assert.equal(
      (await gw.signed(a, { method: "GET", path: `/${a.bucket}/locks/abc` })).status,
      404,
    );
    // A lock can be re-created with new content afterwards (restic re-locks).
    assert.equal(
      (await gw.signed(a, { method: "PUT", path: `/${a.bucket}/locks/abc`, body: "lock2" })).status,
      200,
    );
  });
});
