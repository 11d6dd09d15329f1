import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { decodeIndex } from "../../format/index-file.ts";
import { forgetSnapshots } from "./forget.ts";
import { planPrune } from "./phase1.ts";
import { pruneFixture } from "../testing/prune-fixture.ts";
import { prune } from "./prune.ts";

const T0 = Date.UTC(2026, 0, 1);
const ZERO = { kind: "percent", value: 0 } as const;

function listing(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) listing(p, base, out);
    else out.push(p.slice(base.length));
  }
  return out;
}

test("prune() refuses to repack a corrupt blob: a one-line error naming pack and blob, nothing changed", async () => {
  const fx = await pruneFixture();
  try {
    fx.write("a.bin", "a", 90_000);
    fx.write("b.bin", "b", 90_000);
    const s1 = await fx.snap(T0);
    unlinkSync(join(fx.src, "a.bin"));
    await fx.snap(T0 + 1000);
    let repo = await fx.open();
    await forgetSnapshots(repo, [s1]);
    const dry = await planPrune(repo, {
      now: T0,
      graceMs: 1000,
      dryRun: true,
      maxUnused: ZERO,
      repackSmall: false,
      planned: new Set(),
      log: () => undefined,
    });
    const victim = dry.repackedIds[0];
    assert.ok(victim !== undefined, "a partly used pack is selected");
    // Flip one byte inside every blob of that pack.
    const file = join(fx.repoDir, "data", victim.slice(0, 2), victim);
    const bytes = readFileSync(file);
    for (const id of repo.indexIds) {
      const idx = decodeIndex(repo.master, await repo.storage.get(`index/${id}`), id);
      for (const p of idx.packs)
        if (p.id === victim)
          for (const [, offset, length] of p.blobs) {
            const at = offset + (length >> 1);
            bytes[at] = (bytes[at] ?? 0) ^ 0x55;
          }
    }
    writeFileSync(file, bytes);
    const before = listing(fx.repoDir);

    repo = await fx.open();
    await assert.rejects(
      prune(repo, { now: T0 + 10_000, graceMs: 1000, maxUnused: ZERO }),
      (e: unknown) =>
        isCofferError(e, "CORRUPT") &&
        e.message.startsWith(`Cannot repack pack ${victim.slice(0, 8)}: data blob `) &&
        /is corrupt .*nothing was pruned/.test(e.message) &&
        !e.message.includes("\n"),
    );
    assert.deepEqual(listing(fx.repoDir), before, "no object was written or deleted");
  } finally {
    fx.remove();
  }
});
