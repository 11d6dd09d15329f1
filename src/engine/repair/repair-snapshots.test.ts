import assert from "node:assert/strict";
import { test } from "node:test";
import { CofferError, isCofferError } from "../../core/errors.ts";
import { decodeIndex } from "../../format/index-file.ts";
import { packKey } from "../../format/pack.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { check } from "../check/index.ts";
import { fxBytes, writeFixture, type FxNode } from "../testing/check-fixture.ts";
import { readManifests } from "../prune/index.ts";
import { saveIndex } from "../repository/index.ts";
import type { Repository } from "../repository/index.ts";
import { testRepository } from "../testing/fixtures.ts";
import { resolvePath } from "../repository/index.ts";
import { repairIndex } from "./repair-index.ts";
import { GatewayLikeStorage, destroy, flipStoredByte, idsUnder } from "./repair-fixture.ts";
import { REPAIRED_TAG, repairSnapshots } from "./repair-snapshots.ts";

const keep = fxBytes(1000, 7);
const tree = (): FxNode[] => [
  // three blobs of 1000 bytes, each in its own pack
  {
    type: "file",
    name: "big.bin",
    data: Buffer.concat([fxBytes(1000, 1), fxBytes(1000, 2), fxBytes(1000, 3)]),
  },
  { type: "file", name: "keep.bin", data: keep },
  {
    type: "dir",
    name: "etc",
    children: [
      {
        type: "dir",
        name: "deep",
        children: [{ type: "file", name: "e.bin", data: fxBytes(500, 5) }],
      },
    ],
  },
];

async function damaged(repo: Repository) {
  const fx = await writeFixture(repo, tree(), { blobsPerPack: 1, time: "2026-01-01T00:00:00Z" });
  const intact = await writeFixture(repo, [{ type: "file", name: "keep.bin", data: keep }], {
    blobsPerPack: 1,
    time: "2026-01-02T00:00:00Z",
  });
  // The middle blob of big.bin is lost with its pack.
  const mid = [...fx.blobPack.keys()][1]!;
  await destroy(repo.storage, packKey(fx.blobPack.get(mid)!));
  return { fx, intact };
}

test("repairSnapshots() rewrites a damaged snapshot without the lost blobs, names each file, and --forget removes the original", async () => {
  const repo = await testRepository();
  const { fx, intact } = await damaged(repo);
  const dry = await repairSnapshots(repo, { dryRun: true, forget: true });
  assert.deepEqual(
    dry.damaged.map((d) => [d.id, d.paths.map((p) => p.path)]),
    [[fx.snapshotId, ["/big.bin"]]],
  );
  assert.equal(dry.damaged[0]!.newId, undefined);
  assert.equal((await idsUnder(repo.storage, "snapshots/")).length, 2);

  const r = await repairSnapshots(repo, { forget: true });
  assert.equal(r.checked, 2);
  const d = r.damaged[0]!;
  assert.equal(d.id, fx.snapshotId);
  assert.deepEqual(d.paths, [
    { path: "/big.bin", what: "file lost 1 of 3 blob(s): kept 2000 of 3000 bytes" },
  ]);
  assert.equal(d.forgotten?.state, "removed");
  assert.ok(d.newId !== undefined);
  assert.deepEqual(await idsUnder(repo.storage, "snapshots/"), [d.newId, intact.snapshotId].sort());
  const copy = await repo.loadSnapshot(d.newId);
  assert.deepEqual(copy.tags, [REPAIRED_TAG]);
  assert.equal(copy.time, fx.snapshot.time);
  assert.equal(copy.meta?.repairedFrom, fx.snapshotId);
  const big = await collectBytes(repo, d.newId, "/big.bin");
  assert.deepEqual(big, Buffer.concat([fxBytes(1000, 1), fxBytes(1000, 3)]));
  assert.deepEqual(await collectBytes(repo, d.newId, "/etc/deep/e.bin"), fxBytes(500, 5));
  // The manifests of the damaged original went with it; the repository is whole again once
  // the index no longer names the lost pack.
  assert.equal((await readManifests(repo.storage)).has(fx.snapshotId), false);
  await repairIndex(repo);
  const report = await check(repo, { readData: true });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
});

/** The content of file `path` in snapshot `snapshotId`. */
async function collectBytes(repo: Repository, snapshotId: string, path: string): Promise<Buffer> {
  const snap = await repo.loadSnapshot(snapshotId);
  const { node } = await resolvePath(repo, snap.tree, path);
  const parts = await Promise.all((node?.content ?? []).map((id) => repo.loadBlob("data", id)));
  return Buffer.concat(parts);
}

test("repairSnapshots() replaces a lost directory listing by an empty directory, and a snapshot whose root is lost has nothing to save", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, tree(), { blobsPerPack: 1 });
  const rootOnly = await writeFixture(repo, [{ type: "file", name: "r", data: fxBytes(10, 9) }], {
    blobsPerPack: 1,
    time: "2026-01-03T00:00:00Z",
  });
  // A fixture's trees share one pack: drop etc/deep's listing from the index (a superseding
  // index without it), and lose the second snapshot's tree pack.
  const deep = (await resolvePath(repo, fx.tree, "/etc/deep")).tree!;
  const old = decodeIndex(repo.master, await repo.storage.get(`index/${fx.indexId}`));
  const packs = old.packs.map((p) => ({ ...p, blobs: p.blobs.filter((b) => b[0] !== deep) }));
  await saveIndex(repo.storage, repo.master, repo.random, packs, [fx.indexId]);
  await destroy(repo.storage, packKey(rootOnly.treePacks[0]!));
  const r = await repairSnapshots(repo);
  const byId = new Map(r.damaged.map((d) => [d.id, d]));
  assert.match(
    byId.get(rootOnly.snapshotId)?.lost ?? "",
    /^root directory listing \(tree [0-9a-f]{8}\) is lost$/,
  );
  assert.equal(byId.get(rootOnly.snapshotId)?.newId, undefined);
  const d = byId.get(fx.snapshotId)!;
  assert.deepEqual(d.paths, [
    {
      path: "/etc/deep",
      what: `directory listing (tree ${deep.slice(0, 8)}) lost: replaced by an empty directory`,
    },
  ]);
  const copy = await repo.loadSnapshot(d.newId!);
  assert.deepEqual((await resolvePath(repo, copy.tree, "/etc/deep")).node?.type, "dir");
  assert.deepEqual(
    await repo.loadTree((await resolvePath(repo, copy.tree, "/etc/deep")).tree!),
    [],
  );
  assert.deepEqual(await collectBytes(repo, d.newId!, "/keep.bin"), keep);
  // Without --forget the originals stay.
  assert.deepEqual(
    await idsUnder(repo.storage, "snapshots/"),
    [fx.snapshotId, rootOnly.snapshotId, d.newId!].sort(),
  );
});

test("repairSnapshots() refuses while an index is damaged or a lost blob is in a pack no index names", async () => {
  const repo = await testRepository();
  const { fx } = await damaged(repo);
  const other = await writeFixture(repo, [{ type: "file", name: "o", data: fxBytes(100, 4) }]);
  await flipStoredByte(repo.storage, `index/${other.indexId}`);
  await assert.rejects(repairSnapshots(repo, { forget: true }), (err: unknown) => {
    assert.ok(isCofferError(err, "CORRUPT"));
    assert.match(err.message, /index [0-9a-f]{8} is damaged; run coffer repair index first$/);
    return true;
  });
  // An index deleted outright: its packs are stored but unindexed, so nothing is lost yet.
  const repo2 = await testRepository();
  const fx2 = await writeFixture(repo2, tree(), { blobsPerPack: 1 });
  await repo2.storage.delete(`index/${fx2.indexId}`);
  await assert.rejects(
    repairSnapshots(repo2, { forget: true }),
    /holds lost blobs but no index names it; run coffer repair index first/,
  );
  assert.equal((await idsUnder(repo2.storage, "snapshots/")).length, 1);
  assert.ok(fx.snapshotId.length > 0);
});

test("repairSnapshots() --forget behind a gateway files a pending deletion and skips originals already pending", async () => {
  const storage = new GatewayLikeStorage();
  const repo = await testRepository({ storage });
  const { fx } = await damaged(repo);
  const r = await repairSnapshots(repo, { forget: true });
  assert.equal(r.damaged[0]?.forgotten?.state, "pending");
  assert.ok(storage.pending.has(`snapshots/${fx.snapshotId}`));
  const again = await repairSnapshots(repo, { forget: true });
  assert.deepEqual(again.damaged, []);
  // The original stays listed until the deletion executes; check does not count it.
  await repairIndex(repo);
  const report = await check(repo, { readData: true });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.deepEqual(
    report.problems.filter((p) => p.object === `snapshot ${fx.snapshotId.slice(0, 8)}`),
    [
      {
        severity: "info",
        object: `snapshot ${fx.snapshotId.slice(0, 8)}`,
        message: `snapshot ${fx.snapshotId.slice(0, 8)} is pending deletion at the gateway: not checked`,
      },
    ],
  );
});

test("repairSnapshots() gives a snapshot made whole again an exact manifest, once: behind a gateway the old one, pending deletion, is left out", async () => {
  const storage = new GatewayLikeStorage();
  const repo = await testRepository({ storage });
  const files = (): FxNode[] => [{ type: "file", name: "a.bin", data: fxBytes(2000, 1) }];
  const fx = await writeFixture(repo, files(), { blobsPerPack: 1 });
  await destroy(storage, packKey(fx.dataPacks[0]!));
  await repairIndex(repo);
  // The same data stored again (as the next backup does): the snapshot is whole again, but
  // its manifest names the lost pack and not the new one.
  await writeFixture(repo, files(), { blobsPerPack: 1, time: "2026-01-05T00:00:00Z" });
  const first = await repairSnapshots(repo);
  assert.deepEqual(first.damaged, []);
  assert.deepEqual(first.manifestsRewritten, [fx.snapshotId]);
  assert.equal([...storage.pending].filter((k) => k.startsWith("manifests/")).length, 1);
  const again = await repairSnapshots(repo);
  assert.deepEqual(again.manifestsRewritten, []);
  const report = await check(repo, { readData: true });
  assert.deepEqual(
    report.problems.filter((p) => p.severity !== "info"),
    [],
  );
});

test("repairSnapshots() stops on a storage failure, writing nothing: an unreachable tree is not a lost one", async () => {
  const storage = new FailingPacks();
  const repo = await testRepository({ storage });
  await writeFixture(repo, tree(), { blobsPerPack: 1 });
  const before = {
    snapshots: await idsUnder(storage, "snapshots/"),
    data: await idsUnder(storage, "data/"),
  };
  storage.failing = true;
  await assert.rejects(repairSnapshots(repo, { forget: true }), (err: unknown) =>
    isCofferError(err, "NETWORK"),
  );
  storage.failing = false;
  assert.deepEqual(await idsUnder(storage, "snapshots/"), before.snapshots);
  assert.deepEqual(await idsUnder(storage, "data/"), before.data);
});

/** Reads of packs fail with NETWORK while `failing`. */
class FailingPacks extends MemoryStorage {
  failing = false;
  override async get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    if (this.failing && key.startsWith("data/"))
      throw new CofferError("NETWORK", `Cannot read ${key}: connection reset`);
    return super.get(key, range);
  }
}
