import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { listCaches, removeOldCaches } from "./cache-list.ts";

let base: string;
const NOW = Date.UTC(2026, 5, 1);
const FRESH = "0123456789abcdef0123456789abcdef";
const STALE = "fedcba9876543210fedcba9876543210";
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "coffer-clist-"));
  for (const [id, daysAgo] of [
    [FRESH, 2],
    [STALE, 31],
  ] as const) {
    mkdirSync(join(base, id, "index"), { recursive: true });
    writeFileSync(join(base, id, "index", "a"), Buffer.alloc(100));
    writeFileSync(join(base, id, "b"), Buffer.alloc(20));
    const t = (NOW - daysAgo * 86_400_000) / 1000;
    utimesSync(join(base, id), t, t);
  }
  writeFileSync(join(base, "CACHEDIR.TAG"), "x");
  mkdirSync(join(base, "not-a-repo"));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

test("listCaches() lists repository caches with sizes, last use and age", async () => {
  const got = await listCaches(base, NOW);
  assert.deepEqual(
    got.map((c) => [c.repoId, c.bytes, c.old, Math.round((NOW - c.lastUsedMs) / 86_400_000)]),
    [
      [FRESH, 120, false, 2],
      [STALE, 120, true, 31],
    ],
  );
  assert.deepEqual(await listCaches(join(base, "missing"), NOW), []);
});

test("removeOldCaches() removes only caches unused for longer than the maximum age", async () => {
  const removed = await removeOldCaches(base, NOW);
  assert.deepEqual(
    removed.map((c) => c.repoId),
    [STALE],
  );
  assert.ok(existsSync(join(base, FRESH)));
  assert.ok(!existsSync(join(base, STALE)));
  assert.ok(existsSync(join(base, "not-a-repo")), "what is not a repository cache stays");
  assert.deepEqual(
    (await removeOldCaches(base, NOW, 1)).map((c) => c.repoId),
    [FRESH],
  );
});
