// Finding 3 of issue 10: one damaged index or snapshot object must not block the repository.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { backup } from "../backup/index.ts";
import { fxBytes, writeFixture } from "../testing/check-fixture.ts";
import { findSnapshot, listSnapshots } from "../browse/index.ts";
import { forgetByPolicy } from "../prune/index.ts";
import { ls } from "../browse/index.ts";
import { prune } from "../prune/index.ts";
import { Repository } from "../repository/index.ts";
import { restore } from "../restore/index.ts";
import { parsePolicy } from "../../retention/index.ts";
import { testRepository } from "../testing/fixtures.ts";
import { repairIndex } from "./repair-index.ts";
import { flipStoredByte, idsUnder } from "./repair-fixture.ts";
import { repairSnapshots } from "./repair-snapshots.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-damaged-"));
  dirs.push(d);
  return d;
}

/** Three snapshots (three index objects); the first index and the second snapshot damaged. */
async function damagedRepo(): Promise<{
  repo: Repository;
  ids: string[];
  badIndex: string;
  badSnapshot: string;
}> {
  const repo = await testRepository();
  const fx = [1, 2, 3].map(() => undefined);
  const ids: string[] = [];
  let badIndex = "";
  for (const [i] of fx.entries()) {
    const f = await writeFixture(
      repo,
      [{ type: "file", name: `f${String(i)}.bin`, data: fxBytes(1500, i + 1) }],
      { time: `2026-01-0${String(i + 1)}T00:00:00Z`, paths: ["/data"] },
    );
    ids.push(f.snapshotId);
    if (i === 2) badIndex = f.indexId;
  }
  await flipStoredByte(repo.storage, `index/${badIndex}`);
  await flipStoredByte(repo.storage, `snapshots/${ids[1]!}`);
  // Opened afresh, as every command does: nothing loaded before the damage.
  const fresh = await Repository.open(repo.storage, "test-password", {
    random: repo.random,
    clock: repo.clock,
  });
  return { repo: fresh, ids, badIndex, badSnapshot: ids[1]! };
}

test("loadIndex() skips a damaged index object with a warning naming it; the other indexes stay usable", async () => {
  const { repo, ids, badIndex } = await damagedRepo();
  await repo.loadIndex();
  assert.deepEqual(
    repo.damagedIndexes.map((d) => d.id),
    [badIndex],
  );
  assert.deepEqual(
    repo.damage.warnings.map((w) => w.message),
    [
      `Cannot open index ${badIndex.slice(0, 8)}: authentication failed; skipped (run coffer repair index)`,
    ],
  );
  const target = await tempDir();
  const r = await restore(repo, ids[0]!, { target });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await readFile(join(target, "f0.bin")), fxBytes(1500, 1));
  const names: string[] = [];
  for await (const e of ls(repo, ids[0]!)) names.push(e.path);
  assert.deepEqual(names, ["/f0.bin"]);
});

test("listSnapshots(), findSnapshot(latest) and forgetByPolicy() skip a damaged snapshot with a warning naming it", async () => {
  const { repo, ids, badSnapshot } = await damagedRepo();
  const listed = await listSnapshots(repo);
  assert.deepEqual(
    listed.map((s) => s.id),
    [ids[0], ids[2]],
  );
  assert.deepEqual(
    repo.damage.warnings.map((w) => w.object),
    [`snapshot ${badSnapshot.slice(0, 8)}`],
  );
  assert.match(repo.damage.warnings[0]!.message, /run coffer repair snapshots --forget\)$/);
  assert.equal((await findSnapshot(repo, "latest")).id, ids[2]);
  const r = await forgetByPolicy(repo, parsePolicy({ keepLast: 1 }), { now: Date.UTC(2026, 0, 5) });
  assert.deepEqual(
    r.forgotten.map((f) => f.id),
    [ids[0]],
  );
  assert.deepEqual(await idsUnder(repo.storage, "snapshots/"), [ids[1], ids[2]].sort());
});

test("backup() carries on past a damaged index object and a damaged snapshot", async () => {
  const { repo } = await damagedRepo();
  const src = await tempDir();
  await writeFile(join(src, "new.bin"), fxBytes(5000, 9));
  const r = await backup(repo, { paths: [src], workers: 1 });
  const target = await tempDir();
  assert.deepEqual((await restore(repo, r.snapshotId, { target })).errors, []);
  assert.deepEqual(await readFile(join(target, src, "new.bin")), fxBytes(5000, 9));
  assert.equal(repo.damage.warnings.length, 2);
});

test("prune() refuses, deleting nothing, while an index object or a snapshot is damaged; it runs once both are repaired", async () => {
  const { repo, badIndex, badSnapshot } = await damagedRepo();
  const before = {
    data: await idsUnder(repo.storage, "data/"),
    index: await idsUnder(repo.storage, "index/"),
  };
  await assert.rejects(prune(repo, { graceMs: 0 }), (err: unknown) => {
    assert.ok(isCofferError(err, "CORRUPT"));
    assert.equal(
      err.message,
      `Cannot prune: index ${badIndex.slice(0, 8)} is damaged (authentication failed); run coffer repair index first`,
    );
    return true;
  });
  assert.deepEqual(await idsUnder(repo.storage, "data/"), before.data);
  assert.deepEqual(await idsUnder(repo.storage, "index/"), before.index);
  await repairIndex(repo);
  await assert.rejects(
    prune(repo, { graceMs: 0 }),
    new RegExp(
      `^CofferError: Cannot prune: snapshot ${badSnapshot.slice(0, 8)} is damaged \\(authentication failed\\); run coffer repair snapshots --forget first$`,
    ),
  );
  assert.deepEqual(await idsUnder(repo.storage, "data/"), before.data);
  await repairSnapshots(repo, { forget: true });
  const r = await prune(repo, { graceMs: 0 });
  assert.equal(r.dryRun, false);
});
