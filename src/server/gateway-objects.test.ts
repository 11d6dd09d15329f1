import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeManifest } from "../format/manifest.ts";
import { startTestGateway, xmlField, type TestCreds, type TestGateway } from "./testing/harness.ts";

const stats = {
  files: 3,
  dirs: 1,
  bytes: 300,
  newFiles: 3,
  changedFiles: 0,
  unchangedFiles: 0,
  addedBytes: 300,
  storedBytes: 200,
};

describe("gateway objects: ranges, listings, manifests", () => {
  let gw: TestGateway;
  let a: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("obj-01");
    const s3 = gw.sdk(a);
    for (const k of ["a/1", "a/2", "a/b/3", "a/b/4", "a/c/5", "b/6", "c 7", "d+8", "é/9", "top"]) {
      await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: k, Body: k }));
    }
    await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: "range/obj", Body: "0123456789" }));
  });
  after(async () => {
    await gw.close();
  });

  test("GetObject with ranges: 206 with Content-Range, suffix ranges, 416 past the end", async () => {
    const get = (range: string) =>
      gw.signed(a, { method: "GET", path: `/${a.bucket}/range/obj`, headers: { range } });
    const r1 = await get("bytes=2-4");
    assert.equal(r1.status, 206);
    assert.equal(r1.body.toString(), "234");
    assert.equal(r1.headers["content-range"], "bytes 2-4/10");
    assert.equal((await get("bytes=-3")).body.toString(), "789");
    assert.equal((await get("bytes=7-")).body.toString(), "789");
    assert.equal((await get("bytes=8-100")).body.toString(), "89");
    const r416 = await get("bytes=10-20");
    assert.equal(r416.status, 416);
    assert.equal(xmlField(r416.body, "Code"), "InvalidRange");
    const sdk = await gw
      .sdk(a)
      .send(new GetObjectCommand({ Bucket: a.bucket, Key: "range/obj", Range: "bytes=0-0" }));
    assert.equal(await sdk.Body!.transformToString(), "0");
  });

  test("ListObjectsV2 paginates with continuation tokens and max-keys", async () => {
    const s3 = gw.sdk(a);
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({
          Bucket: a.bucket,
          MaxKeys: 3,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      keys.push(...(r.Contents ?? []).map((c) => c.Key!));
      assert.ok((r.KeyCount ?? 0) <= 3);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
      pages++;
    } while (token);
    assert.deepEqual(keys, [
      "a/1",
      "a/2",
      "a/b/3",
      "a/b/4",
      "a/c/5",
      "b/6",
      "c 7",
      "d+8",
      "range/obj",
      "top",
      "é/9",
    ]);
    assert.equal(pages, 4);
  });

  test("ListObjectsV2 with delimiter and prefix folds common prefixes, also across pages", async () => {
    const s3 = gw.sdk(a);
    const r = await s3.send(new ListObjectsV2Command({ Bucket: a.bucket, Delimiter: "/" }));
    assert.deepEqual(
      r.CommonPrefixes?.map((p) => p.Prefix),
      ["a/", "b/", "range/", "é/"],
    );
    assert.deepEqual(
      r.Contents?.map((c) => c.Key),
      ["c 7", "d+8", "top"],
    );
    const sub = await s3.send(
      new ListObjectsV2Command({ Bucket: a.bucket, Delimiter: "/", Prefix: "a/" }),
    );
    assert.deepEqual(
      sub.CommonPrefixes?.map((p) => p.Prefix),
      ["a/b/", "a/c/"],
    );
    assert.deepEqual(
      sub.Contents?.map((c) => c.Key),
      ["a/1", "a/2"],
    );
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const p = await s3.send(
        new ListObjectsV2Command({
          Bucket: a.bucket,
          Delimiter: "/",
          MaxKeys: 1,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      seen.push(
        ...(p.CommonPrefixes ?? []).map((x) => x.Prefix!),
        ...(p.Contents ?? []).map((x) => x.Key!),
      );
      token = p.IsTruncated ? p.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, ["a/", "b/", "c 7", "d+8", "range/", "top", "é/"]);
  });

  test("ListObjectsV2 start-after and encoding-type=url", async () => {
    const s3 = gw.sdk(a);
    const r = await s3.send(new ListObjectsV2Command({ Bucket: a.bucket, StartAfter: "b/6" }));
    assert.deepEqual(
      r.Contents?.map((c) => c.Key),
      ["c 7", "d+8", "range/obj", "top", "é/9"],
    );
    const raw = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}`,
      query: "encoding-type=url&list-type=2&prefix=c",
    });
    assert.match(raw.body.toString(), /<Key>c%207<\/Key>/);
    const rawE = await gw.signed(a, {
      method: "GET",
      path: `/${a.bucket}`,
      query: "encoding-type=url&list-type=2&prefix=%C3%A9",
    });
    assert.match(rawE.body.toString(), /<Key>%C3%A9\/9<\/Key>/);
    // The SDK v3 hands url-encoded keys back as sent, as with AWS.
    const sdk = await s3.send(
      new ListObjectsV2Command({ Bucket: a.bucket, Prefix: "d", EncodingType: "url" }),
    );
    assert.deepEqual(
      sdk.Contents?.map((c) => decodeURIComponent(c.Key!)),
      ["d+8"],
    );
  });

  test("a manifest PUT is parsed and recorded with the server's commit time", async () => {
    const m = encodeManifest({
      v: 1,
      snapshot: "a".repeat(64),
      host: "web-01",
      tags: ["daily"],
      time: "2020-01-01T00:00:00Z",
      stats,
      packs: ["b".repeat(64), "c".repeat(64)],
    });
    const before = Date.now();
    await gw
      .sdk(a)
      .send(new PutObjectCommand({ Bucket: a.bucket, Key: `manifests/${m.id}`, Body: m.bytes }));
    const rec = await gw.running.metadata.manifests.get(a.bucket, `manifests/${m.id}`);
    assert.ok(rec);
    assert.equal(rec.snapshot, "a".repeat(64));
    assert.equal(rec.host, "web-01");
    assert.deepEqual(rec.tags, ["daily"]);
    assert.deepEqual(rec.packs, ["b".repeat(64), "c".repeat(64)]);
    assert.equal(rec.time, "2020-01-01T00:00:00Z");
    assert.ok(rec.committedAt >= before && rec.committedAt <= Date.now());
  });

  test("an invalid manifest is refused with 400 and nothing is stored", async () => {
    const s3 = gw.sdk(a);
    const bad = Buffer.from(JSON.stringify({ v: 1, snapshot: "nope" }));
    const { createHash } = await import("node:crypto");
    const id = createHash("sha256").update(bad).digest("hex");
    await assert.rejects(
      s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: `manifests/${id}`, Body: bad })),
      (e: S3ServiceException) => e.name === "InvalidManifest" && e.$metadata.httpStatusCode === 400,
    );
    assert.equal(await gw.running.metadata.objects.get(a.bucket, `manifests/${id}`), undefined);
    assert.equal(await gw.running.metadata.manifests.get(a.bucket, `manifests/${id}`), undefined);
    // A valid manifest under a name that is not its hash is refused too.
    const m = encodeManifest({
      v: 1,
      snapshot: "d".repeat(64),
      host: "h",
      tags: [],
      time: "2020-01-01T00:00:00Z",
      stats,
      packs: [],
    });
    await assert.rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: a.bucket,
          Key: `manifests/${"0".repeat(64)}`,
          Body: m.bytes,
        }),
      ),
      (e: S3ServiceException) => e.name === "InvalidManifest",
    );
  });
});
