import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { MemoryStorage } from "../../storage/memory.ts";
import type { ByteRange } from "../../storage/storage.ts";
import { writeFixture } from "../testing/check-fixture.ts";
import { ObjectCache } from "./object-cache.ts";
import { loadIndexFiles } from "../repository/index.ts";
import type { Repository } from "../repository/index.ts";
import { testRepository } from "../testing/fixtures.ts";

/** Memory storage that counts the GETs of index objects. */
class CountingStorage extends MemoryStorage {
  indexGets = 0;
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (key.startsWith("index/")) this.indexGets++;
    return super.get(key, range);
  }
}

let dir: string;
let storage: CountingStorage;
let repo: Repository;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "coffer-icache-"));
  storage = new CountingStorage();
  repo = await testRepository({ storage });
  for (let i = 0; i < 3; i++)
    await writeFixture(repo, [{ type: "file", name: `f${i}`, data: Buffer.alloc(100, i) }]);
  storage.indexGets = 0;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const load = (cache?: ObjectCache) => loadIndexFiles(storage, repo.master, 4, cache);

test("loadIndexFiles() with an index ObjectCache fetches each index object once", async () => {
  const cache = new ObjectCache(dir, repo.id, "index");
  const first = await load(cache);
  assert.equal(storage.indexGets, 3);
  assert.deepEqual(readdirSync(cache.dir).sort(), first.indexIds);
  const again = await load(new ObjectCache(dir, repo.id, "index"));
  assert.equal(storage.indexGets, 3, "the second load reads only the cache");
  assert.deepEqual(again.indexIds, first.indexIds);
  assert.deepEqual(
    again.packs.map((p) => p.id),
    first.packs.map((p) => p.id),
  );
  assert.equal(again.table.size, first.table.size);
  // A new index object is fetched (and cached); the others still come from the cache.
  await writeFixture(repo, [{ type: "file", name: "new", data: Buffer.alloc(100, 9) }]);
  storage.indexGets = 3;
  const c3 = new ObjectCache(dir, repo.id, "index");
  await load(c3);
  assert.equal(storage.indexGets, 4);
  assert.deepEqual([c3.stats.hits, c3.stats.misses, c3.stats.writes], [3, 1, 1]);
});

test("ObjectCache.get() drops an entry whose bytes do not hash to its name; it is fetched again", async () => {
  const cache = new ObjectCache(dir, repo.id, "index");
  const { indexIds } = await load(cache);
  const victim = join(cache.dir, indexIds[0] ?? "");
  const good = readFileSync(victim);
  const bad = Buffer.from(good);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  writeFileSync(victim, bad);
  const c2 = new ObjectCache(dir, repo.id, "index");
  const again = await load(c2);
  assert.deepEqual(again.indexIds, indexIds);
  assert.equal(storage.indexGets, 4, "only the damaged entry is fetched again");
  assert.equal(c2.stats.dropped, 1);
  assert.deepEqual(readFileSync(victim), good, "the entry is rewritten with the real bytes");
});

test("ObjectCache.retain() drops cached index objects the repository no longer lists", async () => {
  const cache = new ObjectCache(dir, repo.id, "index");
  const { indexIds } = await load(cache);
  const gone = indexIds[1] ?? "";
  await storage.delete(`index/${gone}`);
  writeFileSync(join(cache.dir, ".tmp-0123456789abcdef-000000"), "in flight");
  await load(cache);
  const left = readdirSync(cache.dir);
  assert.ok(!left.includes(gone), "the deleted index left the cache");
  assert.ok(left.includes(".tmp-0123456789abcdef-000000"), "a fresh temp file is left alone");
  assert.equal(left.length, 3);
});

test("ObjectCache in an unwritable place is bypassed: the index still loads", async () => {
  const file = join(dir, "not-a-dir");
  writeFileSync(file, "x");
  const cache = new ObjectCache(file, repo.id, "index");
  const loaded = await load(cache);
  assert.equal(loaded.indexIds.length, 3);
  assert.equal(storage.indexGets, 3);
  assert.ok(cache.stats.errors >= 1);
  assert.equal(cache.stats.writes, 0);
});

test("ObjectCache refuses a repository ID that is not hex (it becomes a path component)", () => {
  assert.throws(() => new ObjectCache(dir, "../../etc", "index"), /Invalid repository ID/);
});
