import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { collect } from "../core/parallel.ts";
import { backup } from "../engine/backup/index.ts";
import { check } from "../engine/check/index.ts";
import { restore } from "../engine/restore/index.ts";
import { fxBytes } from "../engine/testing/check-fixture.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { MemoryStorage } from "../storage/memory.ts";
import { ORIGINAL_META, copySnapshots } from "./copy.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-copy-"));
  dirs.push(d);
  return d;
}

/** A small tree: two multi-chunk files, a small one, a subdirectory, an empty file. */
async function corpus(): Promise<string> {
  const root = join(await tempDir(), "data");
  await mkdir(join(root, "sub"), { recursive: true });
  await writeFile(join(root, "big.bin"), fxBytes(3 * 1024 * 1024 + 17, 1));
  await writeFile(join(root, "sub", "mid.bin"), fxBytes(1536 * 1024, 2));
  await writeFile(join(root, "small.txt"), "hello\n");
  await writeFile(join(root, "empty"), "");
  return root;
}

async function objectCount(s: MemoryStorage): Promise<number> {
  return (await collect(s.list(""))).length;
}

test("copySnapshots() re-chunks under the destination's keys: the copy restores bit-exactly, check --read-data is clean, and a backup of the same files in the destination adds no data", async () => {
  const root = await corpus();
  const src = await testRepository({ seed: "src", password: "source password" });
  const dstStorage = new MemoryStorage();
  const dst = await testRepository({ storage: dstStorage, seed: "dst", password: "dest password" });
  assert.notDeepEqual(src.master.macKey, dst.master.macKey);
  const b = await backup(src, { paths: [root], host: "web-01", tags: ["www"] });

  const r = await copySnapshots(src, dst);
  assert.equal(r.snapshots.length, 1);
  const [e] = r.snapshots;
  assert.ok(e?.copied);
  assert.equal(e.source, b.snapshotId);
  const copy = await dst.loadSnapshot(e.destination);
  assert.equal(copy.meta?.[ORIGINAL_META], b.snapshotId);
  assert.equal(copy.host, "web-01");
  assert.deepEqual(copy.tags, ["www"]);
  assert.equal(copy.time, b.snapshot.time);
  assert.notEqual(copy.tree, b.snapshot.tree, "tree IDs are MACs under the destination's key");
  assert.ok(r.bytesAdded > 4 * 1024 * 1024);
  assert.equal((await collect(dstStorage.list("manifests/"))).length, 1);

  const target = await tempDir();
  const res = await restore(dst, e.destination, { target });
  assert.deepEqual(res.errors, []);
  for (const f of ["big.bin", "sub/mid.bin", "small.txt", "empty"])
    assert.ok(
      (await readFile(join(target, root, f))).equals(await readFile(join(root, f))),
      `${f} differs`,
    );
  const report = await check(dst, { readData: true });
  assert.equal(report.ok, true, JSON.stringify(report.problems));

  // Chunk boundaries follow the destination's own chunker: its backup of the same files
  // deduplicates every data blob against the copy.
  const again = await backup(dst, { paths: [root], host: "web-01", parent: false });
  assert.ok(again.stats.addedBytes < 64 * 1024, `added ${String(again.stats.addedBytes)} bytes`);
});

test("copySnapshots() run again copies nothing and writes no object; a changed file in a later snapshot is the only data read", async () => {
  const root = await corpus();
  const src = await testRepository({ seed: "src2" });
  const dstStorage = new MemoryStorage();
  const dst = await testRepository({ storage: dstStorage, seed: "dst2" });
  await backup(src, { paths: [root] });
  const first = await copySnapshots(src, dst);
  assert.equal(first.snapshots.filter((s) => s.copied).length, 1);
  const objects = await objectCount(dstStorage);

  const second = await copySnapshots(src, dst);
  assert.deepEqual(
    second.snapshots.map((s) => [s.source, s.destination, s.copied]),
    first.snapshots.map((s) => [s.source, s.destination, false]),
  );
  assert.equal(second.blobsAdded, 0);
  assert.equal(second.bytesRead, 0);
  assert.equal(await objectCount(dstStorage), objects);

  // A later snapshot with one small change: only that file is read from the source (the
  // rest is matched through the earlier copy), and the copy's parent is the earlier copy.
  await writeFile(join(root, "small.txt"), "hello again\n");
  const b2 = await backup(src, { paths: [root] });
  const third = await copySnapshots(src, dst);
  assert.equal(third.bytesRead, "hello again\n".length);
  const e = third.snapshots.find((s) => s.source === b2.snapshotId);
  assert.ok(e?.copied);
  assert.equal(e.snapshot.parent, first.snapshots[0]?.destination);
  assert.equal((await check(dst, { readData: true })).ok, true);
});

test("copySnapshots() interrupted between snapshots keeps the committed ones; the next run copies only the rest", async () => {
  const root = await corpus();
  const src = await testRepository({ seed: "src3" });
  const dst = await testRepository({ seed: "dst3" });
  await backup(src, { paths: [root], time: "2026-01-01T00:00:00Z" });
  await writeFile(join(root, "small.txt"), "changed\n");
  await backup(src, { paths: [root], time: "2026-01-02T00:00:00Z" });
  const ac = new AbortController();
  await assert.rejects(
    copySnapshots(src, dst, {
      signal: ac.signal,
      onSnapshot: () => {
        ac.abort();
      },
    }),
    { code: "INTERRUPTED" },
  );
  assert.equal((await dst.listSnapshotIds()).length, 1);
  const rerun = await copySnapshots(src, dst);
  assert.deepEqual(
    rerun.snapshots.map((s) => s.copied),
    [false, true],
  );
  assert.equal((await dst.listSnapshotIds()).length, 2);
  assert.equal((await check(dst, { readData: true })).ok, true);
});

test("copySnapshots() refuses a repository as its own destination, and names the file of a damaged source blob", async () => {
  const root = await corpus();
  const srcStorage = new MemoryStorage();
  const src = await testRepository({ storage: srcStorage, seed: "src4" });
  await backup(src, { paths: [root] });
  await assert.rejects(copySnapshots(src, src), {
    code: "BAD_INPUT",
    message: "Cannot copy: source and destination are the same repository",
  });
  // Damage every data pack: the copy stops naming a file and commits no snapshot.
  for (const o of await collect(srcStorage.list("data/"))) {
    const bytes = Buffer.from(await srcStorage.get(o.key));
    const packId = o.key.slice(o.key.lastIndexOf("/") + 1);
    if (src.packs.get(packId)?.type !== "data") continue;
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await srcStorage.delete(o.key);
    await srcStorage.putIfAbsent(o.key, bytes);
  }
  const dst = await testRepository({ seed: "dst4" });
  await assert.rejects(copySnapshots(src, dst), (err: Error) => {
    assert.match(
      err.message,
      /^Cannot copy \/.*\/(big\.bin|sub\/mid\.bin|small\.txt): data blob [0-9a-f]{8}: /,
    );
    return true;
  });
  assert.deepEqual(await dst.listSnapshotIds(), []);
});
