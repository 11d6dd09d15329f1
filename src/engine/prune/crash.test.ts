// Crash safety of prune with repacking: a storage wrapper "kills" the prune at a chosen
// write; the repository must stay whole, and the next prunes must finish and reclaim.
import assert from "node:assert/strict";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CofferError } from "../../core/errors.ts";
import { LocalStorage } from "../../storage/local.ts";
import type { Storage } from "../../storage/storage.ts";
import { forgetSnapshots } from "./forget.ts";
import { assertIntact, packBytes, pruneFixture, type PruneFixture } from "../testing/prune-fixture.ts";
import { prune } from "./prune.ts";

const T0 = Date.UTC(2026, 0, 1);
const ZERO = { kind: "percent", value: 0 } as const;

/** Local storage that fails the first write matching `when`, and every operation after it. */
function crashing(
  dir: string,
  when: (op: "put" | "delete", key: string, n: number) => boolean,
): Storage {
  const inner = new LocalStorage(dir);
  let dead = false;
  let n = 0;
  const die = (op: "put" | "delete", key: string): void => {
    if (dead || when(op, key, n++)) {
      dead = true;
      throw new CofferError("IO", `simulated crash at ${op} ${key}`);
    }
  };
  return {
    location: inner.location,
    get: (k, r) => (dead ? Promise.reject(new CofferError("IO", "dead")) : inner.get(k, r)),
    head: (k) => inner.head(k),
    list: (p) => inner.list(p),
    async putIfAbsent(k, b) {
      die("put", k);
      return inner.putIfAbsent(k, b);
    },
    async delete(k) {
      die("delete", k);
      return inner.delete(k);
    },
  };
}

async function scenario(): Promise<PruneFixture> {
  const fx = await pruneFixture();
  fx.write("a.bin", "a", 90_000);
  fx.write("b.bin", "b", 90_000);
  // Small files share packs, so forgetting every other one leaves partly used packs holding
  // more than one new pack's worth of live data (large files fill packs of their own, which
  // would become wholly unused and leave nothing to repack in some runs).
  for (let k = 0; k < 60; k++) fx.write(`small-${k}.bin`, `small ${k}`, 3000);
  const s1 = await fx.snap(T0);
  fx.write("b.bin", "b2", 80_000);
  fx.write("c.bin", "c", 60_000);
  const s2 = await fx.snap(T0 + 1000);
  unlinkSync(join(fx.src, "a.bin"));
  for (let k = 0; k < 60; k += 2) unlinkSync(join(fx.src, `small-${k}.bin`));
  await fx.snap(T0 + 2000);
  await forgetSnapshots(await fx.open(), [s1, s2]);
  fx.expected.delete(s1);
  fx.expected.delete(s2);
  return fx;
}

const points: [string, (op: "put" | "delete", key: string) => boolean][] = [
  ["while writing the new packs", (op, k) => op === "put" && k.startsWith("data/")],
  [
    "after the new packs and index, before the manifests",
    (op, k) => op === "put" && k.startsWith("manifests/"),
  ],
  [
    "after the new manifest, before the old one is deleted",
    (op, k) => op === "delete" && k.startsWith("manifests/"),
  ],
  ["after the manifests, before the plan", (op, k) => op === "put" && k.startsWith("prune/")],
];

for (const [label, when] of points) {
  test(`prune() interrupted ${label} leaves a whole repository and the next prunes reclaim`, async () => {
    const fx = await scenario();
    try {
      const before = await packBytes(await fx.open());
      const indexes = (await (await fx.open()).listIndexIds()).length;
      // The first new pack is allowed through when crashing "while writing the new packs".
      let packs = 0;
      const storage = crashing(fx.repoDir, (op, k) =>
        label.startsWith("while")
          ? op === "put" && k.startsWith("data/") && ++packs === 2
          : when(op, k),
      );
      await assert.rejects(
        prune(await fx.open(storage), {
          now: T0 + 10_000,
          graceMs: 1000,
          maxUnused: ZERO,
          repackSmall: true,
        }),
        /simulated crash/,
      );
      // The repack's index exists iff the crash came after it.
      assert.equal(
        (await (await fx.open()).listIndexIds()).length,
        label.startsWith("while") ? indexes : indexes + 1,
      );
      await assertIntact(fx, `${label}: after the crash`);
      await prune(await fx.open(), { now: T0 + 20_000, graceMs: 1000, maxUnused: ZERO });
      await assertIntact(fx, `${label}: after the plan`);
      const r = await prune(await fx.open(), { now: T0 + 30_000, graceMs: 1000, maxUnused: ZERO });
      assert.ok(r.deletedPacks.length > 0, "the plan is executed");
      await assertIntact(fx, `${label}: after the execution`);
      const final = await prune(await fx.open(), {
        now: T0 + 40_000,
        graceMs: 1000,
        maxUnused: ZERO,
        dryRun: true,
      });
      assert.equal(final.unusedBytes, 0, "everything unused was reclaimed");
      assert.equal(final.plan, undefined);
      assert.ok((await packBytes(await fx.open())) < before);
    } finally {
      fx.remove();
    }
  });
}

test("prune() interrupted while deleting planned packs is completed by the next run", async () => {
  const fx = await scenario();
  try {
    await prune(await fx.open(), { now: T0 + 10_000, graceMs: 1000, maxUnused: ZERO });
    const storage = crashing(fx.repoDir, (op, k) => op === "delete" && k.startsWith("data/"));
    await assert.rejects(
      prune(await fx.open(storage), { now: T0 + 20_000, graceMs: 1000, maxUnused: ZERO }),
      /simulated crash/,
    );
    await assertIntact(fx, "phase 2 crash");
    await prune(await fx.open(), { now: T0 + 30_000, graceMs: 1000, maxUnused: ZERO });
    await prune(await fx.open(), { now: T0 + 40_000, graceMs: 1000, maxUnused: ZERO });
    await assertIntact(fx, "phase 2 completed");
    const final = await prune(await fx.open(), {
      now: T0 + 50_000,
      graceMs: 1000,
      dryRun: true,
      maxUnused: ZERO,
    });
    assert.equal(final.unusedBytes, 0);
  } finally {
    fx.remove();
  }
});
