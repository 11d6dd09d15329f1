import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, test } from "node:test";
import { startTestGateway, type TestGateway } from "../server/testing/harness.ts";
import { S3Storage, claimedSha256, isContentAddressed } from "./s3.ts";
import { FakeS3 } from "./testing/fake-s3.ts";

// When S3Storage skips its HEAD before a PUT: only for content-addressed keys, and only once
// the server has shown that it honours If-None-Match: * (coffer-server says so in a header).

let gw: TestGateway | undefined;
after(async () => {
  await gw?.close();
});

/** Records the HTTP method of every request the storage's SDK client sends. */
function recordMethods(s: S3Storage): string[] {
  const methods: string[] = [];
  s.client.middlewareStack.add(
    (next) => (args) => {
      methods.push((args.request as { method: string }).method);
      return next(args);
    },
    { step: "finalizeRequest", name: "recordMethods" },
  );
  return methods;
}

test("isContentAddressed() covers packs, index, snapshots and manifests only", () => {
  for (const k of ["data/ab/abcd", "index/ff", "snapshots/01", "manifests/aa"])
    assert.ok(isContentAddressed(k), k);
  for (const k of ["config", "keys/1", "locks/1", "prune/plan.json", "datax/1"])
    assert.ok(!isContentAddressed(k), k);
});

test("S3Storage skips the HEAD before content-addressed PUTs once coffer-server said it honours If-None-Match", async () => {
  gw ??= await startTestGateway();
  const c = await gw.addSource("conditional");
  const s = new S3Storage({
    endpoint: gw.endpoint,
    bucket: c.bucket,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    retry: { baseDelayMs: 5 },
  });
  try {
    const methods = recordMethods(s);
    // Before the server said anything: HEAD first, as always.
    assert.equal(await s.putIfAbsent("config", new Uint8Array([1])), "created");
    assert.deepEqual(methods.splice(0), ["HEAD", "PUT"]);
    // The PUT's response carried the header: content-addressed keys now go straight to PUT.
    assert.equal(await s.putIfAbsent("data/aa/aa01", new Uint8Array([2])), "created");
    assert.deepEqual(methods.splice(0), ["PUT"]);
    assert.equal(await s.putIfAbsent("data/aa/aa01", new Uint8Array([2])), "exists");
    assert.deepEqual(methods.splice(0), ["PUT"]);
    // Other keys keep their HEAD.
    assert.equal(await s.putIfAbsent("keys/k1", new Uint8Array([3])), "created");
    assert.deepEqual(methods.splice(0), ["HEAD", "PUT"]);
    assert.deepEqual([...(await s.get("data/aa/aa01"))], [2]);
  } finally {
    await s.close();
  }
});

test("S3Storage keeps its HEAD on a server that ignores If-None-Match", async () => {
  const fake = await FakeS3.start(["bucket"], { ignoreIfNoneMatch: true });
  const s = new S3Storage({
    endpoint: fake.endpoint,
    bucket: "bucket",
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    retry: { baseDelayMs: 5 },
  });
  try {
    assert.equal(await s.putIfAbsent("data/aa/aa01", new TextEncoder().encode("first")), "created");
    assert.equal(await s.putIfAbsent("data/aa/aa01", new TextEncoder().encode("other")), "exists");
    assert.deepEqual(
      fake.requests.map((r) => r.method),
      ["HEAD", "PUT", "HEAD"],
    );
    assert.equal(Buffer.from(await s.get("data/aa/aa01")).toString(), "first");
  } finally {
    await s.close();
    await fake.close();
  }
});

test("S3Storage falls back to HEAD + plain PUT when the server answers 501 to If-None-Match, without retrying it", async () => {
  const fake = await FakeS3.start(["bucket"]);
  const s = new S3Storage({
    endpoint: fake.endpoint,
    bucket: "bucket",
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    retry: { baseDelayMs: 5 },
    headBeforePut: false,
  });
  try {
    fake.failNext(1, 501, "NotImplemented");
    assert.equal(await s.putIfAbsent("index/aa", new TextEncoder().encode("x")), "created");
    const seen = fake.requests.map((r) => `${r.method} ${r.headers["if-none-match"] ?? "-"}`);
    assert.deepEqual(seen, ["PUT *", "HEAD -", "PUT -"]);
    assert.equal(await s.putIfAbsent("index/aa", new TextEncoder().encode("x")), "exists");
    assert.equal(fake.requests.at(-1)?.method, "HEAD");
  } finally {
    await s.close();
    await fake.close();
  }
});

test("claimedSha256() reads the hash from content-addressed names only", () => {
  const h = "ab".repeat(32);
  assert.equal(claimedSha256(`data/ab/${h}`), h);
  assert.equal(claimedSha256(`index/${h}`), h);
  assert.equal(claimedSha256(`keys/${h}`), undefined);
  assert.equal(claimedSha256(`data/ab/${h.toUpperCase()}`), undefined);
  assert.equal(claimedSha256("data/ab/abcd"), undefined);
});

test("S3Storage signs a content-addressed PUT with the hash its name claims, and recovers when the name lies", async () => {
  gw ??= await startTestGateway();
  const c = await gw.addSource("payload-hash");
  const s = new S3Storage({
    endpoint: gw.endpoint,
    bucket: c.bucket,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    retry: { baseDelayMs: 5 },
  });
  try {
    const sent: string[] = [];
    s.client.middlewareStack.add(
      (next) => (args) => {
        const r = args.request as { method: string; headers: Record<string, string> };
        if (r.method === "PUT") sent.push(r.headers["x-amz-content-sha256"] ?? "");
        return next(args);
      },
      { step: "finalizeRequest", name: "recordPayloadHash" },
    );
    const bytes = new TextEncoder().encode("pack bytes");
    const id = createHash("sha256").update(bytes).digest("hex");
    assert.equal(await s.putIfAbsent(`data/${id.slice(0, 2)}/${id}`, bytes), "created");
    assert.deepEqual(sent.splice(0), [id]);
    // A name that is not the hash of the bytes: the gateway refuses the claim, the SDK hashes.
    const wrong = "00".repeat(32);
    assert.equal(await s.putIfAbsent(`index/${wrong}`, bytes), "created");
    assert.deepEqual(sent.splice(0), [wrong, id]);
    assert.deepEqual(Buffer.from(await s.get(`index/${wrong}`)).toString(), "pack bytes");
  } finally {
    await s.close();
  }
});
