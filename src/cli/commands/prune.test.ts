// Slow: runs the real `coffer` process (about 15 of them).
import assert from "node:assert/strict";
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestTree, pruneFixture, type PruneFixture } from "../../engine/testing/prune-fixture.ts";
import { jsonLines, runCoffer } from "../testing/run-coffer.ts";

function listRepo(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) listRepo(p, base, out);
    else out.push(`${p.slice(base.length)} ${statSync(p).size}`);
  }
  return out;
}

function dataBytes(repo: string): number {
  return listRepo(join(repo, "data")).reduce((n, l) => n + Number(l.split(" ")[1]), 0);
}

describe("coffer prune --max-unused (slow: real processes)", () => {
  let fx: PruneFixture;
  const coffer = (args: string[]) =>
    runCoffer(args, { COFFER_REPOSITORY: fx.repoDir, COFFER_PASSWORD: "pw" });
  const ok = async (args: string[]): Promise<string> => {
    const r = await coffer(args);
    assert.equal(r.code, 0, `coffer ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.toString("utf8");
  };

  before(async () => {
    fx = await pruneFixture();
  });
  after(() => {
    fx.remove();
  });

  // Three backups, each replacing part of the data: older snapshots hold data the last lacks.
  async function threeBackups(tag: string): Promise<void> {
    for (let i = 0; i < 3; i++) {
      fx.write(`keep-${tag}.bin`, `keep-${tag}`, 80_000);
      fx.write(`churn-${tag}.bin`, `churn-${tag}-${i}`, 60_000 + i * 1000);
      // Small files share packs: the even ones stay, the odd ones change every backup, so
      // the older backups leave partly used packs in every run (large files tend to fill
      // packs of their own, which become wholly unused instead).
      for (let k = 0; k < 30; k++)
        fx.write(`s-${tag}-${k}.bin`, k % 2 === 0 ? `s-${tag}-${k}` : `s-${tag}-${i}-${k}`, 3000);
      await ok(["backup", fx.src, "--host", "h", "--quiet"]);
    }
  }

  test("a bad --max-unused is a one-line usage error (exit 2) and changes nothing", async () => {
    await ok(["backup", fx.src, "--host", "h", "--quiet"]);
    fx.write("x.bin", "x", 10_000);
    await ok(["backup", fx.src, "--host", "h", "--quiet"]);
    const files = listRepo(fx.repoDir);
    const r = await coffer(["prune", "--max-unused", "abc"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim(), /^[^\n]*Invalid --max-unused "abc"[^\n]*$/);
    const f = await coffer(["forget", "--keep-last", "1", "--prune", "--max-unused", "12%x"]);
    assert.equal(f.code, 2);
    assert.equal(f.stderr.trim().split("\n").length, 1, f.stderr);
    assert.deepEqual(listRepo(fx.repoDir), files, "no snapshot was forgotten");
    unlinkSync(join(fx.src, "x.bin"));
  });

  test("prune --max-unused 0 --grace 0s plans a repack, then a second run deletes and frees space", async () => {
    await threeBackups("a");
    await ok(["forget", "--keep-last", "1"]);
    const files = listRepo(fx.repoDir);
    const dry = await ok(["prune", "--max-unused", "0", "--grace", "0s", "--dry-run"]);
    assert.match(dry, /would repack (1 pack|\d+ packs):/);
    assert.doesNotMatch(dry, /\(\(dry run\)\)|\(s\)/);
    assert.match(dry, /unused after this prune 0 B/);
    assert.deepEqual(listRepo(fx.repoDir), files, "--dry-run changes nothing");

    const before = dataBytes(fx.repoDir);
    const first = await ok(["prune", "--max-unused", "0", "--grace", "0s"]);
    assert.match(first, /^repacked (1 pack|\d+ packs): (1 blob|\d+ blobs),/m);
    assert.match(first, /^rewrote 1 manifest$/m);
    assert.match(first, /^planned (1 unused or repacked pack|\d+ unused or repacked packs) \(/m);
    assert.doesNotMatch(first, /\(s\)/, "no (s) plurals");
    const second = await ok(["prune", "--max-unused", "0", "--grace", "0s"]);
    assert.match(second, /^deleted ([2-9]|\d\d+) packs|^deleted 1 pack /m);
    const after = dataBytes(fx.repoDir);
    assert.ok(after < before, `${after} < ${before}`);
    await ok(["check", "--read-data"]);
    const target = join(fx.dir, "restore-a");
    await ok(["restore", "latest", "--target", target]);
    assert.deepEqual(digestTree(join(target, fx.src)), digestTree(fx.src));
  });

  test("prune --json reports used, unused, repacked and rewritten manifests", async () => {
    unlinkSync(join(fx.src, "churn-a.bin"));
    await threeBackups("b");
    await ok(["forget", "--keep-last", "1"]);
    const r = await coffer(["prune", "--max-unused", "0", "--grace", "0s", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = jsonLines(r.stdout.toString("utf8")).at(-1) as Record<string, unknown>;
    assert.equal(report.dryRun, false);
    assert.ok((report.usedBytes as number) > 0);
    assert.ok((report.unusedBytes as number) > 0);
    assert.equal(report.unusedAfterBytes, 0);
    const repacked = report.repacked as Record<string, number>;
    assert.ok(
      (repacked.packs ?? 0) > 0 && (repacked.blobs ?? 0) > 0 && (repacked.newPacks ?? 0) > 0,
    );
    assert.equal(report.manifestsRewritten, 1);
    assert.ok(typeof (report.plan as Record<string, unknown>).key === "string");
  });

  test("forget --keep-last 1 --prune --max-unused 0 forgets, repacks and plans in one run", async () => {
    await threeBackups("c");
    const out = await ok([
      "forget",
      "--keep-last",
      "1",
      "--prune",
      "--max-unused",
      "0",
      "--grace",
      "0s",
    ]);
    assert.match(out, /snapshot [0-9a-f]{8} removed/);
    assert.match(out, /^repacked (1 pack|\d+ packs):/m);
    const again = await ok(["prune", "--max-unused", "0", "--grace", "0s"]);
    assert.match(again, /^deleted (1 pack|[1-9]\d* packs) /m);
    await ok(["check", "--read-data"]);
    const left = await coffer(["snapshots", "--json"]);
    assert.equal((jsonLines(left.stdout.toString("utf8"))[0] as unknown[]).length, 1);
  });
});
