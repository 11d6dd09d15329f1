import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { TreePackCache } from "./pack-cache.ts";

const REPO = "0123456789abcdef0123456789abcdef";
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "coffer-pcache-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});
const pack = (n: number, fill: number): { id: string; bytes: Buffer } => {
  const bytes = Buffer.alloc(n, fill);
  return { id: createHash("sha256").update(bytes).digest("hex"), bytes };
};

test("TreePackCache.put() stores only bytes that hash to the pack ID and fit the bound", async () => {
  const c = new TreePackCache(dir, REPO, 1000);
  const a = pack(100, 1);
  assert.equal(await c.put(a.id, pack(100, 2).bytes), false);
  assert.equal(await c.put(pack(1001, 3).id, pack(1001, 3).bytes), false);
  assert.equal(await c.put(a.id, a.bytes), true);
  assert.deepEqual(readdirSync(c.dir), [a.id]);
  assert.deepEqual(await c.read(a.id, 10, 5), Buffer.alloc(5, 1));
  assert.deepEqual(await c.readAll(a.id), a.bytes);
  assert.equal(await c.read(a.id, 98, 5), undefined, "a range past the end drops the entry");
  assert.deepEqual(readdirSync(c.dir), []);
});

test("TreePackCache evicts the least recently used packs beyond maxBytes", async () => {
  const c = new TreePackCache(dir, REPO, 250);
  const [a, b, d] = [pack(100, 1), pack(100, 2), pack(100, 3)];
  await c.put(a.id, a.bytes);
  await c.put(b.id, b.bytes);
  // a was used more recently than b (mtimes set explicitly: no reliance on clock resolution).
  utimesSync(join(c.dir, b.id), 1000, 1000);
  utimesSync(join(c.dir, a.id), 2000, 2000);
  await c.put(d.id, d.bytes);
  assert.deepEqual(readdirSync(c.dir).sort(), [a.id, d.id].sort());
  assert.equal(c.stats.dropped, 1);
});

test("TreePackCache.fetch() fetches a pack once for concurrent readers", async () => {
  const c = new TreePackCache(dir, REPO);
  const a = pack(100, 1);
  let calls = 0;
  const get = async (): Promise<Uint8Array> => {
    calls++;
    await new Promise((r) => setImmediate(r));
    return a.bytes;
  };
  const got = await Promise.all([c.fetch(a.id, get), c.fetch(a.id, get), c.fetch(a.id, get)]);
  assert.equal(calls, 1);
  for (const g of got) assert.deepEqual(g, a.bytes);
  assert.deepEqual(readdirSync(c.dir), [a.id]);
});

test("TreePackCache.retain() keeps listed packs and fresh temporary files", async () => {
  const c = new TreePackCache(dir, REPO);
  const [a, b] = [pack(10, 1), pack(10, 2)];
  await c.put(a.id, a.bytes);
  await c.put(b.id, b.bytes);
  writeFileSync(join(c.dir, ".tmp-0123456789abcdef-000000"), "in flight");
  writeFileSync(join(c.dir, ".tmp-fedcba9876543210-000000"), "abandoned");
  utimesSync(join(c.dir, ".tmp-fedcba9876543210-000000"), 1000, 1000);
  await c.retain(new Set([b.id]));
  assert.deepEqual(readdirSync(c.dir).sort(), [".tmp-0123456789abcdef-000000", b.id].sort());
});

test("TreePackCache in an unwritable place is not usable and stores nothing", async () => {
  const file = join(dir, "not-a-dir");
  writeFileSync(file, "x");
  const c = new TreePackCache(file, REPO);
  const a = pack(10, 1);
  assert.equal(await c.usable(), false);
  assert.equal(await c.put(a.id, a.bytes), false);
  assert.equal(await c.read(a.id, 0, 1), undefined);
  assert.ok(c.stats.errors >= 1);
});
