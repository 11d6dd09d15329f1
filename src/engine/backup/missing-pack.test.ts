// Finding 2 of issue 10: a backup never deduplicates against a blob whose pack is missing.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packKey } from "../../format/pack.ts";
import { LocalStorage } from "../../storage/local.ts";
import { backup } from "./backup.ts";
import { check } from "../check/index.ts";
import { repairIndex } from "../repair/index.ts";
import { repairSnapshots } from "../repair/index.ts";
import { restore } from "../restore/index.ts";
import { testRepository } from "../testing/fixtures.ts";
import type { Repository } from "../repository/index.ts";
import { fxBytes } from "../testing/check-fixture.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-heal-"));
  dirs.push(d);
  return d;
}

const files: [string, Buffer][] = [
  ["a.bin", fxBytes(300_000, 1)],
  ["b.txt", Buffer.from("hello\n")],
];

/** A local repository with one backup of `files`, whose data pack is then lost. */
async function lostPack(): Promise<{ repo: Repository; src: string; root: string }> {
  const root = await tempDir();
  const src = await tempDir();
  for (const [n, b] of files) await writeFile(join(src, n), b);
  const repo = await testRepository({ storage: new LocalStorage(root) });
  const first = await backup(repo, { paths: [src], workers: 1 });
  const data = [...repo.packs.values()].filter((p) => p.type === "data");
  assert.equal(data.length, 1);
  await unlink(join(root, packKey(data[0]!.id)));
  assert.ok(first.snapshotId.length > 0);
  return { repo, src, root };
}

async function restoresBitExactly(repo: Repository, id: string, src: string): Promise<void> {
  const target = await tempDir();
  assert.deepEqual((await restore(repo, id, { target })).errors, []);
  for (const [n, b] of files) assert.deepEqual(await readFile(join(target, src, n)), b, n);
}

test("backup() after a pack was lost uploads its data again instead of deduplicating against it", async () => {
  const { repo, src } = await lostPack();
  // Same Repository object (a long-lived process): its index and pack listing predate the loss.
  const r = await backup(repo, { paths: [src], workers: 1 });
  assert.ok(r.stats.addedBlobs >= 2, JSON.stringify(r.stats));
  assert.equal(r.stats.unchangedFiles, 0);
  await restoresBitExactly(repo, r.snapshotId, src);
  const report = await check(repo, { readData: true });
  assert.deepEqual(
    report.affected.map((a) => a.id),
    [],
    JSON.stringify(report.affected),
  );
});

test("lose a pack, repair index, back up the same files: check --read-data is clean and the new snapshot restores bit-exactly", async () => {
  const { repo, src } = await lostPack();
  const fixed = await repairIndex(repo);
  assert.equal(fixed.removedPacks.length, 1);
  const r = await backup(repo, { paths: [src], workers: 1 });
  const report = await check(repo, { readData: true });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.deepEqual(report.affected, []);
  await restoresBitExactly(repo, r.snapshotId, src);
  // The first snapshot is whole again, but its manifest still names the lost pack and not
  // the new one (a warning: the new snapshot's manifest keeps it); repair snapshots fixes it.
  assert.deepEqual(
    report.repairs.map((x) => x.command),
    ["coffer repair snapshots"],
  );
  const fixed2 = await repairSnapshots(repo);
  assert.deepEqual(fixed2.damaged, []);
  assert.equal(fixed2.manifestsRewritten.length, 1);
  const clean = await check(repo, { readData: true });
  assert.deepEqual(
    clean.problems.filter((p) => p.severity !== "info"),
    [],
  );
  // A source file gone since: the old snapshot heals only for the files still there.
  await unlink(join(src, "a.bin"));
  assert.equal((await check(repo)).ok, true);
});
