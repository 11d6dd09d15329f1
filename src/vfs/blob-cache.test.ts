import assert from "node:assert/strict";
import { test } from "node:test";
import { BlobCache } from "./blob-cache.ts";

const bytes = (n: number): Uint8Array => new Uint8Array(n);

test("BlobCache keeps at most maxBytes, evicting the least recently used blob", async () => {
  const c = new BlobCache(100);
  await c.get("a", () => Promise.resolve(bytes(40)));
  await c.get("b", () => Promise.resolve(bytes(40)));
  await c.get("a", () => Promise.reject(new Error("a is cached")));
  await c.get("c", () => Promise.resolve(bytes(40))); // evicts b, the least recently used
  assert.equal(c.bytes, 80);
  assert.ok(c.has("a") && c.has("c") && !c.has("b"));
  await c.get("huge", () => Promise.resolve(bytes(101))); // larger than the cache: not kept
  assert.ok(!c.has("huge"));
  assert.equal(c.loads, 4);
});

test("BlobCache shares one load between concurrent readers and does not cache a failure", async () => {
  const c = new BlobCache(1000);
  let calls = 0;
  let release!: (b: Uint8Array) => void;
  const load = (): Promise<Uint8Array> => {
    calls++;
    return new Promise((r) => (release = r));
  };
  const p1 = c.get("x", load);
  const p2 = c.get("x", load);
  release(bytes(3));
  assert.equal(await p1, await p2);
  assert.equal(calls, 1);
  await assert.rejects(
    c.get("bad", () => Promise.reject(new Error("damaged"))),
    /damaged/,
  );
  assert.deepEqual(await c.get("bad", () => Promise.resolve(bytes(2))), bytes(2));
});
