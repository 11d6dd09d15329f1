import assert from "node:assert/strict";
import { test } from "node:test";
import { packKey } from "../../format/pack.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { check } from "../check/index.ts";
import { fxBytes, writeFixture } from "../testing/check-fixture.ts";
import { gonePacks } from "./gone-packs.ts";
import { testRepository } from "../testing/fixtures.ts";

test("check() treats a pack the gateway destroyed as info unless a snapshot needs it", async () => {
  const storage = new MemoryStorage();
  const repo = await testRepository({ storage });
  const kept = await writeFixture(repo, [{ type: "file", name: "a.bin", data: fxBytes(1000, 1) }], {
    blobsPerPack: 1,
  });
  const dropped = await writeFixture(
    repo,
    [{ type: "file", name: "b.bin", data: fxBytes(1000, 2) }],
    { blobsPerPack: 1 },
  );
  const nodes = await repo.loadTree(dropped.tree);
  const bPack = dropped.blobPack.get(nodes[0]!.content![0]!)!;
  const gone = async (): Promise<void> => {
    await storage.delete(packKey(bPack));
    await storage.putIfAbsent(
      "gateway/unavailable-packs.json",
      Buffer.from(JSON.stringify({ v: 1, pending: [], gone: [bPack] })),
    );
  };
  assert.deepEqual([...(await gonePacks(storage))], []);
  await gone();
  assert.deepEqual([...(await gonePacks(storage))], [bPack]);
  // A snapshot still needs it: an error naming the snapshot.
  const bad = await check(repo, { readData: true });
  assert.equal(bad.ok, false);
  assert.ok(
    bad.problems.some(
      (p) =>
        p.severity === "error" &&
        p.message ===
          `snapshot ${dropped.snapshotId.slice(0, 8)} needs pack ${bPack.slice(0, 8)}, which the gateway's garbage collection destroyed`,
    ),
  );
  assert.deepEqual(
    bad.affected.map((a) => a.id),
    [dropped.snapshotId],
  );
  assert.notEqual(kept.snapshotId, dropped.snapshotId);
  // Once that snapshot is gone too (retention), the pack is only information.
  await storage.delete(`snapshots/${dropped.snapshotId}`);
  for await (const o of storage.list("manifests/")) {
    const m = JSON.parse(Buffer.from(await storage.get(o.key)).toString()) as { snapshot: string };
    if (m.snapshot === dropped.snapshotId) await storage.delete(o.key);
  }
  const ok = await check(repo, { readData: true });
  assert.deepEqual(
    ok.problems.map((p) => [p.severity, p.object]),
    [["info", `pack ${bPack.slice(0, 8)}`]],
  );
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.affected, []);
});
