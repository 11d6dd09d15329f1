import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { packKey } from "../../format/pack.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import type { Storage } from "../../storage/storage.ts";
import { check } from "../check/index.ts";
import { fxBytes, writeFixture, type Fixture } from "../testing/check-fixture.ts";
import type { Repository } from "../repository/index.ts";
import { testRepository } from "../testing/fixtures.ts";
import { repairIndex } from "./repair-index.ts";
import { repairSnapshots } from "./repair-snapshots.ts";
import { GatewayLikeStorage, destroy, flipStoredByte, idsUnder } from "./repair-fixture.ts";

async function twoSnapshots(
  storage: Storage = new MemoryStorage(),
): Promise<{ repo: Repository; fx: Fixture; fx2: Fixture }> {
  const repo = await testRepository({ storage });
  const fx = await writeFixture(
    repo,
    [
      { type: "file", name: "a.bin", data: fxBytes(3000, 1) },
      {
        type: "dir",
        name: "d",
        children: [{ type: "file", name: "b.bin", data: fxBytes(1000, 2) }],
      },
    ],
    { blobsPerPack: 1, time: "2026-01-01T00:00:00Z" },
  );
  const fx2 = await writeFixture(repo, [{ type: "file", name: "c.bin", data: fxBytes(2000, 3) }], {
    blobsPerPack: 1,
    time: "2026-01-02T00:00:00Z",
  });
  return { repo, fx, fx2 };
}

test("repairIndex() rebuilds the index from the stored packs: a missing pack is dropped, a damaged index replaced", async () => {
  const { repo, fx, fx2 } = await twoSnapshots();
  const lost = fx.dataPacks[0]!;
  await destroy(repo.storage, packKey(lost));
  await flipStoredByte(repo.storage, `index/${fx2.indexId}`);
  const r = await repairIndex(repo);
  assert.deepEqual(
    r.damagedIndexes.map((d) => d.id),
    [fx2.indexId],
  );
  assert.match(
    r.damagedIndexes[0]!.message,
    /Cannot open index [0-9a-f]{8}: authentication failed/,
  );
  assert.deepEqual(r.removedPacks, [lost]);
  assert.deepEqual(r.rebuiltPacks, [...fx2.dataPacks, ...fx2.treePacks].sort());
  assert.equal(r.newIndexes.length, 1);
  assert.equal(r.deletedIndexes, 2);
  assert.deepEqual(await idsUnder(repo.storage, "index/"), r.newIndexes);

  await repo.loadIndex();
  assert.deepEqual(repo.damagedIndexes, []);
  const stored = await idsUnder(repo.storage, "data/");
  assert.deepEqual([...repo.packs.keys()].sort(), stored);
  assert.equal(repo.packs.has(lost), false);
  for (const id of fx2.blobPack.keys()) assert.ok(repo.index.has("data", id), `blob ${id}`);
  // Only the lost pack's file is damaged now; no index problem is left.
  const report = await check(repo);
  assert.deepEqual(
    report.problems.filter((p) => p.object.startsWith("index ")),
    [],
  );
  assert.deepEqual(
    report.affected.flatMap((a) => a.paths.map((p) => `${a.id.slice(0, 8)} ${p.path}`)),
    [`${fx.snapshotId.slice(0, 8)} /a.bin`],
  );
});

test("repairIndex() behind a gateway supersedes the old index objects: they stay listed, pending deletion, and nobody warns about the damaged one", async () => {
  const storage = new GatewayLikeStorage();
  const { repo, fx, fx2 } = await twoSnapshots(storage);
  await flipStoredByte(storage, `index/${fx.indexId}`);
  const r = await repairIndex(repo);
  assert.equal(r.pendingIndexDeletions, 2);
  assert.equal(r.deletedIndexes, 0);
  assert.deepEqual(
    [...storage.pending].sort(),
    [fx.indexId, fx2.indexId].sort().map((id) => `index/${id}`),
  );
  assert.equal((await idsUnder(storage, "index/")).length, 3);
  await repo.loadIndex();
  assert.deepEqual(repo.damagedIndexes, []);
  assert.deepEqual(repo.indexIds, r.newIndexes);
  for (const id of [...fx.blobPack.keys(), ...fx2.blobPack.keys()])
    assert.ok(repo.index.has("data", id), `blob ${id}`);
  const report = await check(repo);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.deepEqual(
    report.problems.filter((p) => p.object.startsWith("index ")).map((p) => p.severity),
    ["info"],
  );
});

test("repairIndex() writes nothing when the indexes already match storage, and nothing in a dry run", async () => {
  const { repo, fx } = await twoSnapshots();
  const before = await idsUnder(repo.storage, "index/");
  const same = await repairIndex(repo);
  assert.equal(same.unchanged, true);
  assert.deepEqual(await idsUnder(repo.storage, "index/"), before);

  await destroy(repo.storage, packKey(fx.dataPacks[1]!));
  const dry = await repairIndex(repo, { dryRun: true });
  assert.equal(dry.unchanged, false);
  assert.deepEqual(dry.removedPacks, [fx.dataPacks[1]]);
  assert.deepEqual(dry.newIndexes, []);
  assert.deepEqual(await idsUnder(repo.storage, "index/"), before);
});

test("repairIndex() leaves out a pack whose header cannot be read, and refuses when data/ lists no indexed pack", async () => {
  const { repo, fx } = await twoSnapshots();
  const bad = fx.dataPacks[2]!;
  const size = (await repo.storage.head(packKey(bad)))!.size;
  await flipStoredByte(repo.storage, packKey(bad), size - 10);
  const r = await repairIndex(repo, { readAllPacks: true });
  assert.deepEqual(
    r.invalidPacks.map((p) => p.id),
    [bad],
  );
  assert.match(r.invalidPacks[0]!.message, /header authentication failed/);
  await repo.loadIndex();
  assert.equal(repo.packs.has(bad), false);

  const empty = await testRepository();
  await writeFixture(empty, [{ type: "file", name: "x", data: fxBytes(10, 1) }]);
  for (const id of await idsUnder(empty.storage, "data/")) await empty.storage.delete(packKey(id));
  await assert.rejects(repairIndex(empty), (err: unknown) => {
    assert.ok(isCofferError(err, "CORRUPT"));
    assert.match(err.message, /storage lists none of the 2 indexed packs under data\//);
    return true;
  });
});

test("repairIndex({ readAllPacks }) leaves out a pack with a corrupt blob, copying its intact blobs first; repair snapshots then cuts the lost one", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(
    repo,
    [
      { type: "file", name: "a.bin", data: fxBytes(3000, 1) },
      { type: "file", name: "b.bin", data: fxBytes(1000, 2) },
    ],
    { blobsPerPack: 4 },
  );
  const pack = fx.dataPacks[0]!;
  await flipStoredByte(repo.storage, packKey(pack), 40); // inside the first blob
  const before = await check(repo, { readData: true });
  assert.deepEqual(
    before.repairs.map((s) => s.command),
    [
      "coffer repair index --read-all-packs",
      "coffer backup <the same paths>",
      "coffer repair snapshots --forget",
    ],
  );
  const r = await repairIndex(repo, { readAllPacks: true });
  assert.deepEqual(
    r.salvaged.map((x) => [x.id, x.kept, x.lost]),
    [[pack, 3, 1]],
  );
  assert.match(r.salvaged[0]!.message, /checksum mismatch \(1 of 4 blobs fail authentication\)/);
  await repo.loadIndex();
  assert.equal(repo.packs.has(pack), false);
  const s = await repairSnapshots(repo, { forget: true });
  assert.deepEqual(
    s.damaged.flatMap((d) => d.paths.map((p) => p.path)),
    ["/a.bin"],
  );
  const after = await check(repo, { readData: true });
  assert.equal(after.ok, true, JSON.stringify(after.problems));
  assert.deepEqual(after.unreferencedPacks, [pack]);
  assert.deepEqual(after.repairs, []);
});

test("repairIndex() after an index object was deleted outright: its snapshot is whole again, not 'not in any index'", async () => {
  const { repo, fx, fx2 } = await twoSnapshots();
  await repo.storage.delete(`index/${fx2.indexId}`);
  await repo.loadIndex();
  const broken = await check(repo);
  assert.equal(broken.ok, false);
  assert.deepEqual(
    broken.repairs.map((s) => s.command),
    ["coffer repair index"],
  );
  const r = await repairIndex(repo);
  assert.deepEqual(r.rebuiltPacks, [...fx2.dataPacks, ...fx2.treePacks].sort());
  const report = await check(repo, { readData: true });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.deepEqual(report.unreferencedPacks, []);
  for (const id of [...fx.blobPack.keys(), ...fx2.blobPack.keys()])
    assert.ok(repo.index.has("data", id), `blob ${id}`);
});
