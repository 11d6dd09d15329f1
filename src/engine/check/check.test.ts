import assert from "node:assert/strict";
import { chmod, mkdtemp, open, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packKey } from "../../format/pack.ts";
import { LocalStorage } from "../../storage/local.ts";
import { check } from "./check.ts";
import { fxBytes, writeFixture, type Fixture, type FxNode } from "../testing/check-fixture.ts";
import type { Repository } from "../repository/index.ts";
import { testRepository } from "../testing/fixtures.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const shared = fxBytes(1000, 9);
const tree = (): FxNode[] => [
  { type: "file", name: "a.bin", data: Buffer.concat([fxBytes(1000, 1), shared]) },
  { type: "file", name: "b.bin", data: fxBytes(1000, 2) },
  {
    type: "dir",
    name: "etc",
    children: [
      { type: "file", name: "c.bin", data: fxBytes(1000, 3) },
      { type: "file", name: "d.bin", data: shared },
      {
        type: "dir",
        name: "deep",
        children: [{ type: "file", name: "e.bin", data: fxBytes(1000, 5) }],
      },
    ],
  },
];

async function localRepo(): Promise<{ repo: Repository; root: string; fx: Fixture; fx2: Fixture }> {
  const root = await mkdtemp(join(tmpdir(), "coffer-check-"));
  dirs.push(root);
  const repo = await testRepository({ storage: new LocalStorage(root) });
  // one blob per pack so that damage can be pinned on single blobs
  const fx = await writeFixture(repo, tree(), { blobsPerPack: 1, time: "2026-01-01T00:00:00Z" });
  const fx2 = await writeFixture(
    repo,
    [{ type: "file", name: "other.bin", data: fxBytes(1000, 2) }],
    { blobsPerPack: 1, time: "2026-01-02T00:00:00Z" },
  );
  return { repo, root, fx, fx2 };
}

async function flipByte(file: string, at: number): Promise<void> {
  await chmod(file, 0o644);
  const fh = await open(file, "r+");
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x01;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

const paths = (r: Awaited<ReturnType<typeof check>>, snap: string): string[] =>
  (r.affected.find((a) => a.id === snap)?.paths ?? []).map((p) => p.path).sort();

test("check() passes a healthy repository and reports unreferenced packs as info", async () => {
  const { repo, root } = await localRepo();
  await writeFile(join(root, "data", "ab", "ab".padEnd(64, "0")), "leftover", { flag: "w" }).catch(
    async () => {
      await (await import("node:fs/promises")).mkdir(join(root, "data", "ab"), { recursive: true });
      await writeFile(join(root, "data", "ab", "ab".padEnd(64, "0")), "leftover");
    },
  );
  const r = await check(repo, { readData: true });
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.deepEqual(r.unreferencedPacks, ["ab".padEnd(64, "0")]);
  assert.deepEqual(
    r.problems.map((p) => p.severity),
    ["info"],
  );
  assert.equal(r.stats.snapshots, 2);
  assert.equal(r.stats.packsRead, r.stats.packs);
});

test("check({ readData }) names exactly the files and snapshots a flipped byte in a pack affects", async () => {
  const { repo, root, fx, fx2 } = await localRepo();
  const sharedPack = [...fx.blobPack].find(([id]) => fx.blobPack.get(id) !== undefined && id)![1];
  // the shared chunk: pick the pack holding the blob of `shared`
  const nodes = await repo.loadTree(fx.tree);
  const sharedId = nodes.find((n) => n.name.toString() === "a.bin")!.content![1]!;
  const pack = fx.blobPack.get(sharedId)!;
  assert.ok(sharedPack);
  await flipByte(join(root, packKey(pack)), 20);
  const quick = await check(repo);
  assert.equal(quick.ok, true, "a flipped blob byte is only visible when reading data");
  const r = await check(repo, { readData: true });
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.damagedPacks.map((d) => d.id),
    [pack],
  );
  assert.deepEqual(r.damagedPacks[0]!.blobs, [sharedId]);
  assert.deepEqual(paths(r, fx.snapshotId), ["/a.bin", "/etc/d.bin"]);
  assert.deepEqual(r.damagedPacks[0]!.snapshots, [fx.snapshotId]);
  assert.equal(
    r.affected.some((a) => a.id === fx2.snapshotId),
    false,
  );
});

test("check() names the files of every snapshot that a deleted pack affects", async () => {
  const { repo, root, fx, fx2 } = await localRepo();
  const nodes = await repo.loadTree(fx.tree);
  const bId = nodes.find((n) => n.name.toString() === "b.bin")!.content![0]!;
  const pack = fx.blobPack.get(bId)!;
  await unlink(join(root, packKey(pack)));
  const r = await check(repo);
  assert.equal(r.ok, false);
  assert.match(r.damagedPacks[0]!.problem, /missing/);
  assert.deepEqual(paths(r, fx.snapshotId), ["/b.bin"]);
  assert.deepEqual(paths(r, fx2.snapshotId), ["/other.bin"]);
  assert.deepEqual(r.damagedPacks[0]!.snapshots.sort(), [fx.snapshotId, fx2.snapshotId].sort());
});

test("check() names the directory whose tree pack is damaged", async () => {
  const { repo, root, fx } = await localRepo();
  const deep = (
    await repo.loadTree(
      (await repo.loadTree(fx.tree)).find((n) => n.name.toString() === "etc")!.subtree!,
    )
  ).find((n) => n.name.toString() === "deep")!;
  const loc = repo.locate("tree", deep.subtree!)!;
  await flipByte(join(root, packKey(loc.packId)), loc.offset + 20);
  const r = await check(repo);
  assert.equal(r.ok, false);
  assert.deepEqual(paths(r, fx.snapshotId), ["/etc/deep"]);
  assert.match(r.affected[0]!.paths[0]!.reason, /directory contents lost/);
});

test("check() reports a corrupt index and the files whose blobs it alone indexed", async () => {
  const { repo, root, fx, fx2 } = await localRepo();
  await flipByte(join(root, "index", fx2.indexId), 40);
  const r = await check(repo);
  assert.equal(r.ok, false);
  assert.ok(
    r.problems.some(
      (p) => p.severity === "error" && p.object === `index ${fx2.indexId.slice(0, 8)}`,
    ),
    JSON.stringify(r.problems),
  );
  assert.deepEqual(paths(r, fx2.snapshotId), ["/"]);
  assert.deepEqual(paths(r, fx.snapshotId), []);
});

test("check() names a corrupt snapshot and a manifest that omits packs", async () => {
  const { repo, root, fx, fx2 } = await localRepo();
  await flipByte(join(root, "snapshots", fx.snapshotId), 30);
  const r = await check(repo);
  assert.equal(r.ok, false);
  const a = r.affected.find((x) => x.id === fx.snapshotId);
  assert.match(a?.unreadable ?? "", /snapshot/);
  assert.equal(
    r.affected.some((x) => x.id === fx2.snapshotId),
    false,
  );
  assert.ok(
    r.problems.some(
      (p) => p.object === `snapshot ${fx.snapshotId.slice(0, 8)}` && p.severity === "error",
    ),
  );
});
