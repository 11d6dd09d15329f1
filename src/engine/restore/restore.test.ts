import assert from "node:assert/strict";
import { mkdtemp, readFile, readlink, rm, stat, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packKey } from "../../format/pack.ts";
import { fxBytes, writeFixture, type FxNode } from "../testing/check-fixture.ts";
import { restore } from "./restore.ts";
import { testRepository } from "../testing/fixtures.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-restore-"));
  dirs.push(d);
  return d;
}

const shared = fxBytes(2500, 7);
const tree = (): FxNode[] => [
  { type: "file", name: "a.txt", data: Buffer.from("hello\n"), mode: 0o640 },
  { type: "file", name: "big.bin", data: fxBytes(5500, 1) },
  { type: "file", name: "copy1.bin", data: shared },
  { type: "file", name: "empty", data: Buffer.alloc(0) },
  {
    type: "file",
    name: "zeros.bin",
    data: Buffer.concat([fxBytes(100, 3), Buffer.alloc(200_000), fxBytes(100, 4)]),
  },
  { type: "symlink", name: "link", target: "a.txt" },
  { type: "file", name: "hl1", data: Buffer.from("linked"), inode: 42, links: 2 },
  {
    type: "dir",
    name: "sub",
    mode: 0o750,
    children: [
      { type: "file", name: "copy2.bin", data: shared },
      { type: "file", name: "hl2", data: Buffer.from("linked"), inode: 42, links: 2 },
      {
        type: "dir",
        name: Buffer.from([0x66, 0xff, 0x2e]),
        children: [{ type: "file", name: "deep.log", data: Buffer.from("deep") }],
      },
      { type: "file", name: "note.log", data: Buffer.from("log line") },
    ],
  },
];

test("restore() writes contents, modes, times, symlinks, hard links and non-UTF-8 names", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, tree(), { chunk: 1000, blobsPerPack: 2 });
  const target = await tempDir();
  const res = await restore(repo, fx.snapshotId.slice(0, 6), { target });
  assert.deepEqual(res.errors, []);
  assert.equal(res.files, 10);
  assert.equal(res.dirs, 2);
  assert.equal(await readFile(join(target, "a.txt"), "utf8"), "hello\n");
  assert.deepEqual(await readFile(join(target, "big.bin")), fxBytes(5500, 1));
  assert.deepEqual(await readFile(join(target, "sub/copy2.bin")), shared);
  assert.equal((await readFile(join(target, "empty"))).length, 0);
  const zeros = await readFile(join(target, "zeros.bin"));
  assert.deepEqual(zeros, Buffer.concat([fxBytes(100, 3), Buffer.alloc(200_000), fxBytes(100, 4)]));
  assert.equal(await readlink(join(target, "link")), "a.txt");
  const s = await stat(join(target, "a.txt"), { bigint: true });
  assert.equal(Number(s.mode & 0o7777n), 0o640);
  assert.equal(s.mtimeNs / 1000n, 1_700_000_001_000_000_000n / 1000n);
  assert.equal((await stat(join(target, "sub"))).mode & 0o7777, 0o750);
  const h1 = await stat(join(target, "hl1"));
  const h2 = await stat(join(target, "sub/hl2"));
  assert.equal(h1.ino, h2.ino);
  assert.equal(h1.nlink, 2);
  const weird = Buffer.concat([
    Buffer.from(target + "/sub/"),
    Buffer.from([0x66, 0xff, 0x2e]),
    Buffer.from("/deep.log"),
  ]);
  assert.equal((await readFile(weird)).toString(), "deep");
  // no temporary files left behind
  assert.ok(!(await readdir(target)).some((n) => n.startsWith(".coffer-restore")));
});

test("restore() with include/exclude restores matching files and their parent directories", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, tree());
  const t1 = await tempDir();
  const r1 = await restore(repo, fx.snapshotId, { target: t1, include: ["*.log"] });
  assert.deepEqual(r1.errors, []);
  assert.deepEqual((await readdir(t1)).sort(), ["sub"]);
  assert.deepEqual((await readdir(join(t1, "sub"))).length, 2);
  assert.equal(await readFile(join(t1, "sub/note.log"), "utf8"), "log line");
  const t2 = await tempDir();
  const r2 = await restore(repo, fx.snapshotId, { target: t2, exclude: ["/sub", "*.bin"] });
  assert.deepEqual(r2.errors, []);
  assert.deepEqual((await readdir(t2)).sort(), ["a.txt", "empty", "hl1", "link"]);
  const t3 = await tempDir();
  await restore(repo, fx.snapshotId, { target: t3, include: ["/sub"], exclude: ["*.log"] });
  assert.deepEqual(
    (await readdir(join(t3, "sub"))).sort(),
    ["copy2.bin", "f\ufffd.", "hl2"].sort(),
  );
});

test("restore() names files whose pack is corrupt or missing, restores the rest, keeps no partial file", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, tree(), { chunk: 1000, blobsPerPack: 2 });
  // big.bin's third chunk: corrupt its pack (flip a byte in the pack body via a rewrite)
  const bigChunks = (await repo.loadTree(fx.tree)).find(
    (n) => n.name.toString() === "big.bin",
  )!.content!;
  const badPack = fx.blobPack.get(bigChunks[2]!)!;
  const bytes = Buffer.from(await repo.storage.get(packKey(badPack)));
  bytes[5] = bytes[5]! ^ 0xff;
  await repo.storage.delete(packKey(badPack));
  await repo.storage.putIfAbsent(packKey(badPack), bytes);
  const target = await tempDir();
  await writeFile(join(target, "big.bin"), "previous contents");
  const res = await restore(repo, fx.snapshotId, { target });
  const failed = res.errors.map((e) => e.path).sort();
  assert.ok(failed.includes("/big.bin"), JSON.stringify(res.errors));
  for (const e of res.errors) assert.match(e.message, /blob [0-9a-f]{8}/);
  // the damaged file kept its old contents, the others are intact
  assert.equal(await readFile(join(target, "big.bin"), "utf8"), "previous contents");
  assert.equal(await readFile(join(target, "a.txt"), "utf8"), "hello\n");
  assert.deepEqual(await readFile(join(target, "sub/copy2.bin")), shared);
  assert.ok(!(await readdir(target)).some((n) => n.startsWith(".coffer-restore")));

  // a missing pack
  await repo.storage.delete(packKey(badPack));
  const t2 = await tempDir();
  const r2 = await restore(repo, fx.snapshotId, { target: t2 });
  assert.ok(r2.errors.some((e) => e.path === "/big.bin" && /missing/.test(e.message)));
  await assert.rejects(stat(join(t2, "big.bin")));
});

for (const workers of [0, 1, 2])
  test(`restore() names a blob that fails authentication and restores the files that share nothing with it (workers: ${workers})`, async () => {
    const repo = await testRepository();
    const fx = await writeFixture(repo, tree(), { chunk: 1000, blobsPerPack: 2 });
    const bigChunks = (await repo.loadTree(fx.tree)).find(
      (n) => n.name.toString() === "big.bin",
    )!.content!;
    const badPack = fx.blobPack.get(bigChunks[4]!)!;
    const bytes = Buffer.from(await repo.storage.get(packKey(badPack)));
    bytes[3] = bytes[3]! ^ 0x10;
    await repo.storage.delete(packKey(badPack));
    await repo.storage.putIfAbsent(packKey(badPack), bytes);
    const target = await tempDir();
    const res = await restore(repo, fx.snapshotId, { target, workers });
    assert.ok(
      res.errors.some((e) => e.path === "/big.bin" && /authentication failed/.test(e.message)),
      JSON.stringify(res.errors),
    );
    assert.deepEqual(await readFile(join(target, "sub/copy2.bin")), shared);
    await assert.rejects(stat(join(target, "big.bin")));
  });

test("restore() with worker decoding writes the same bytes as on the main thread (small blobs too)", async () => {
  const repo = await testRepository();
  const fx = await writeFixture(repo, tree(), { chunk: 1000, blobsPerPack: 2 });
  const t0 = await tempDir();
  const t2 = await tempDir();
  assert.deepEqual((await restore(repo, fx.snapshotId, { target: t0, workers: 0 })).errors, []);
  assert.deepEqual((await restore(repo, fx.snapshotId, { target: t2, workers: 2 })).errors, []);
  for (const f of [
    "a.txt",
    "big.bin",
    "copy1.bin",
    "empty",
    "zeros.bin",
    "hl1",
    "sub/copy2.bin",
    "sub/note.log",
  ]) {
    assert.deepEqual(await readFile(join(t2, f)), await readFile(join(t0, f)), f);
  }
  assert.deepEqual(await readFile(join(t2, "big.bin")), fxBytes(5500, 1));
  assert.equal(await readFile(join(t2, "a.txt"), "utf8"), "hello\n");
});
