import {
  GetBucketLocationCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestGateway, xmlField, type TestCreds, type TestGateway } from "./testing/harness.ts";

describe("Gateway: isolation by addressing style", () => {
  let gw: TestGateway;
  let a: TestCreds;
  let b: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("vh-a");
    b = await gw.addSource("vh-b");
    await gw.signed(b, { method: "PUT", path: `/${b.bucket}/secret`, body: "b" });
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/mine`, body: "a" });
  });
  after(async () => {
    await gw.close();
  });

  const vhost = (bucket: string) => `${bucket}.localhost:${gw.port}`;

  test("virtual-host answers the same for another source's bucket and a missing one", async () => {
    const cases: { method: string; path: string; query?: string }[] = [
      { method: "GET", path: "/" },
      { method: "HEAD", path: "/" },
      { method: "GET", path: "/", query: "list-type=2" },
      { method: "GET", path: "/", query: "location" },
      { method: "GET", path: "/secret" },
      { method: "HEAD", path: "/secret" },
      { method: "PUT", path: "/x" },
      { method: "DELETE", path: "/secret" },
    ];
    for (const c of cases) {
      const send = (bucket: string) =>
        gw.signed(a, {
          ...c,
          headers: { host: vhost(bucket) },
          ...(c.method === "PUT" ? { body: "z" } : {}),
        });
      const other = await send(b.bucket);
      const missing = await send("no-such-bucket-zz");
      const what = `${c.method} ${c.path}?${c.query ?? ""}`;
      assert.equal(other.status, missing.status, what);
      assert.equal(xmlField(other.body, "Code"), xmlField(missing.body, "Code"), what);
    }
    // Nothing of B was touched.
    const r = await gw.signed(b, { method: "GET", path: `/${b.bucket}/secret` });
    assert.equal(r.body.toString(), "b");
    assert.equal(await gw.running.metadata.deletions.pending(b.bucket, "secret"), undefined);
  });

  test("virtual-host still works for the caller's own bucket", async () => {
    const r = await gw.signed(a, {
      method: "GET",
      path: "/mine",
      headers: { host: vhost(a.bucket) },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "a");
  });
});

describe("Gateway: sources in other regions", () => {
  test("a source added with a non-default region signs and works in that region only", async () => {
    const gw = await startTestGateway();
    try {
      const s = await gw.running.metadata.sources.add(
        {
          name: "paris-01",
          region: "eu-west-3",
          scratchPrefixes: ["locks/"],
          deletionDelayMs: 14 * 86_400_000,
        },
        Date.now(),
      );
      const client = (region: string) =>
        new S3Client({
          endpoint: gw.endpoint,
          region,
          forcePathStyle: true,
          credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
          maxAttempts: 1,
        });
      const paris = client("eu-west-3");
      await paris.send(new PutObjectCommand({ Bucket: s.bucket, Key: "k", Body: "v" }));
      const got = await paris.send(new GetObjectCommand({ Bucket: s.bucket, Key: "k" }));
      assert.equal(await got.Body?.transformToString(), "v");
      const loc = await paris.send(new GetBucketLocationCommand({ Bucket: s.bucket }));
      assert.equal(loc.LocationConstraint, "eu-west-3");
      await assert.rejects(
        client("us-east-1").send(new GetObjectCommand({ Bucket: s.bucket, Key: "k" })),
        (e: S3ServiceException) =>
          e.name === "AuthorizationHeaderMalformed" && /expecting 'eu-west-3'/.test(e.message),
      );
    } finally {
      await gw.close();
    }
  });
});
