import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "../server/testing/harness.ts";
import { runStorageContract } from "./contract.ts";
import { S3Storage } from "./s3.ts";

// The client's S3 backend against the coffer gateway (in-process, plain HTTP on 127.0.0.1).
// Each contract test gets a fresh source, so a fresh empty bucket; the repository sits at the
// bucket root, so the contract's delete tests (under `locks/`) hit the gateway's scratch prefix
// and really delete. Deletes anywhere else are only *pending* on the gateway; the last test
// below shows the backend reports them as done while the object stays.
let gw: TestGateway | undefined;
let n = 0;
const gateway = async (): Promise<TestGateway> => (gw ??= await startTestGateway());
const storageFor = (g: TestGateway, c: TestCreds, prefix = ""): S3Storage =>
  new S3Storage({
    endpoint: g.endpoint,
    bucket: c.bucket,
    prefix,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    retry: { baseDelayMs: 5 },
  });

after(async () => {
  await gw?.close();
});

runStorageContract("S3Storage through coffer-server", async () => {
  const g = await gateway();
  const c = await g.addSource(`contract-${n++}`);
  return { storage: storageFor(g, c), cleanup: () => Promise.resolve() };
});

describe("S3Storage through coffer-server: gateway semantics", () => {
  let g: TestGateway;
  let c: TestCreds;
  before(async () => {
    g = await gateway();
    c = await g.addSource("semantics");
  });

  test("delete() outside locks/ resolves but is only pending: the object stays readable", async () => {
    const s = storageFor(g, c, "repo");
    try {
      assert.equal(await s.putIfAbsent("snapshots/keep", new Uint8Array([1, 2, 3])), "created");
      await s.delete("snapshots/keep");
      assert.deepEqual(await s.head("snapshots/keep"), { key: "snapshots/keep", size: 3 });
      assert.deepEqual([...(await s.get("snapshots/keep"))], [1, 2, 3]);
      const pending = await g.running.metadata.deletions.pending(c.bucket, "repo/snapshots/keep");
      assert.equal(pending?.state, "PENDING");
      assert.equal(pending.requestedBy, c.accessKeyId);
    } finally {
      await s.close();
    }
  });

  test("putIfAbsent() of different bytes under an existing key reports exists and keeps the first", async () => {
    const s = storageFor(g, c, "repo2");
    try {
      assert.equal(await s.putIfAbsent("index/aa", new Uint8Array([1])), "created");
      const raw = new S3Storage({
        endpoint: g.endpoint,
        bucket: c.bucket,
        prefix: "repo2",
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
        headBeforePut: false,
      });
      try {
        assert.equal(await raw.putIfAbsent("index/aa", new Uint8Array([2])), "exists");
      } finally {
        await raw.close();
      }
      assert.deepEqual([...(await s.get("index/aa"))], [1]);
    } finally {
      await s.close();
    }
  });
});
