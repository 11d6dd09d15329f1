import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { startTestGateway, type TestCreds, type TestGateway } from "../server/testing/harness.ts";
import { S3Storage } from "./s3.ts";

// A gateway whose clock runs an hour ahead of this machine's: the SDK corrects its offset
// from the first refusal, and from then on every answer is taken at face value.
let gw: TestGateway;
let creds: TestCreds;
const seen: string[] = [];

before(async () => {
  gw = await startTestGateway();
  creds = await gw.addSource("skewed");
  gw.clockOffset = 3_600_000;
  gw.running.gateway.onRequest = (l) => {
    seen.push(`${l.method} ${l.key ?? ""} ${l.status}`);
  };
});

after(async () => {
  await gw.close();
});

const storage = (): S3Storage =>
  new S3Storage({
    endpoint: gw.endpoint,
    bucket: creds.bucket,
    credentials: creds,
    retry: { baseDelayMs: 1 },
  });

test("S3Storage corrects a one-hour clock skew once, then head() of a missing key is one request", async () => {
  const s = storage();
  try {
    seen.length = 0;
    assert.equal(await s.putIfAbsent("keys/a", new Uint8Array([1])), "created");
    // The first request (HEAD before PUT) is refused as skewed, retried once with the
    // corrected clock, and answers 404.
    assert.deepEqual(seen, ["HEAD keys/a 403", "HEAD keys/a 404", "PUT keys/a 200"]);
    seen.length = 0;
    assert.equal(await s.head("keys/missing"), undefined);
    assert.deepEqual(seen, ["HEAD keys/missing 404"]);
  } finally {
    await s.close();
  }
});

test("S3Storage does not retry a 404 GET while its clock is corrected by an hour", async () => {
  const s = storage();
  try {
    assert.deepEqual(await s.head("keys/a"), { key: "keys/a", size: 1 });
    seen.length = 0;
    await assert.rejects(s.get("keys/missing"), (err) => isCofferError(err, "NOT_FOUND"));
    assert.deepEqual(seen, ["GET keys/missing 404"]);
  } finally {
    await s.close();
  }
});
