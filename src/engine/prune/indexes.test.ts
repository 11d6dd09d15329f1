import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { decodeIndex } from "../../format/index-file.ts";
import { LocalStorage } from "../../storage/local.ts";
import type { Storage } from "../../storage/storage.ts";
import { forgetSnapshots } from "./forget.ts";
import { pruneFixture, type PruneFixture } from "../testing/prune-fixture.ts";
import { PruneIndexes } from "./indexes.ts";
import { prune } from "./prune.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Local storage of `fx` that counts the GETs of each `index/` object. */
function countingStorage(fx: PruneFixture): { storage: Storage; gets: Map<string, number> } {
  const gets = new Map<string, number>();
  const inner = new LocalStorage(fx.repoDir);
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "get")
        return (key: string, range?: { offset: number; length: number }) => {
          if (key.startsWith("index/")) gets.set(key, (gets.get(key) ?? 0) + 1);
          return target.get(key, range);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage, gets };
}

async function twoSnapshots(fx: PruneFixture): Promise<string[]> {
  fx.write("a.bin", "a", 60_000);
  const s1 = await fx.snap(T0);
  fx.write("b.bin", "b", 60_000);
  const s2 = await fx.snap(T0 + 1000);
  return [s1, s2];
}

test("PruneIndexes decodes each index object once and reuses an index the prune recorded", async () => {
  const fx = await pruneFixture();
  try {
    await twoSnapshots(fx);
    const { storage, gets } = countingStorage(fx);
    const repo = await fx.open(storage);
    const ids = await repo.listIndexIds();
    assert.equal(ids.length, 2);
    const idx = new PruneIndexes(repo);
    const first = await idx.get(ids[0] as string);
    assert.equal(await idx.get(ids[0] as string), first);
    await idx.prefetch(ids);
    const all = await idx.live(ids);
    for (const id of ids) assert.equal(gets.get(`index/${id}`), 1, id);
    const expected = [];
    for (const id of ids)
      expected.push(
        ...decodeIndex(repo.master, await new LocalStorage(fx.repoDir).get(`index/${id}`), id)
          .packs,
      );
    assert.deepEqual(all, expected);

    idx.put("f".repeat(64), [first[0]!]);
    assert.deepEqual(await idx.live(["f".repeat(64)]), [first[0]]);
    assert.equal(gets.has(`index/${"f".repeat(64)}`), false);
    // live() forgot the others: asking again reads them again.
    assert.equal(idx.known(ids[1] as string), undefined);
    idx.drop(["f".repeat(64)]);
    assert.equal(idx.known("f".repeat(64)), undefined);
  } finally {
    fx.remove();
  }
});

test("PruneIndexes.live() skips a vanished index and refuses a damaged one, remembering neither", async () => {
  const fx = await pruneFixture();
  try {
    await twoSnapshots(fx);
    const repo = await fx.open();
    const [a, b] = (await repo.listIndexIds()) as [string, string];
    const idx = new PruneIndexes(repo);
    const onlyB = await idx.live([b]);
    assert.deepEqual(await idx.live(["0".repeat(64), b]), onlyB);
    writeFileSync(join(fx.repoDir, "index", a), "not an index");
    await idx.prefetch([a]); // phase 2 skips it
    assert.equal(idx.known(a), undefined);
    await assert.rejects(idx.live([a, b]), (err) => isCofferError(err, "CORRUPT"));
  } finally {
    fx.remove();
  }
});

test("prune() reads each index object at most twice per run (blob table and shared decode), also when phase 2 rewrites indexes", async () => {
  const fx = await pruneFixture();
  try {
    const [s1] = await twoSnapshots(fx);
    fx.write("a.bin", "a2", 60_000);
    await fx.snap(T0 + 2000);
    await forgetSnapshots(await fx.open(), [s1 as string]);
    fx.expected.delete(s1 as string);
    const zero = { kind: "percent", value: 0 } as const;
    for (const [now, phase] of [
      [T0 + 10_000, "plan"],
      [T0 + 20_000, "execute"],
    ] as const) {
      const { storage, gets } = countingStorage(fx);
      const r = await prune(await fx.open(storage), { now, graceMs: 1000, maxUnused: zero });
      if (phase === "plan") assert.ok(r.plan !== undefined, "a plan was written");
      else assert.ok(r.rewrittenIndexes > 0, "phase 2 rewrote indexes");
      assert.ok(gets.size > 0);
      for (const [key, n] of gets) assert.ok(n <= 2, `${phase}: ${key} read ${n} times`);
    }
  } finally {
    fx.remove();
  }
});
