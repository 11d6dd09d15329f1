import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseManifest } from "../../format/manifest.ts";
import { compareTrees, formatDifferences, makeTree } from "../../fsmeta/testing/make-tree.ts";
import { collect } from "../../core/parallel.ts";
import { backup } from "./backup.ts";
import { restore } from "../restore/index.ts";
import { referencedPacks, structuralProblems } from "../testing/structure.ts";
import { testRepository } from "../testing/fixtures.ts";

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-backup-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("backup() stores a tree that restore() reproduces bit-exactly, warning on specials", async () => {
  const base = await tmp();
  const made = await makeTree(join(base, "src"), {
    largeSize: 2 * 1024 * 1024,
    sparseSize: 8 * 1024 * 1024,
  });
  const repo = await testRepository();
  const warnings: string[] = [];
  const r = await backup(repo, {
    paths: [made.root],
    tags: ["t1"],
    host: "h1",
    workers: 2,
    onWarning: (w) => warnings.push(w.message),
  });
  assert.equal(r.snapshot.host, "h1");
  assert.deepEqual(r.snapshot.paths, [made.root]);
  assert.ok(r.stats.files > 5 && r.stats.newFiles === r.stats.files, JSON.stringify(r.stats));
  assert.ok(
    warnings.some((w) => w.includes("fifo")),
    warnings.join("\n"),
  );
  assert.ok(
    warnings.some((w) => w.includes("socket")),
    warnings.join("\n"),
  );
  assert.equal(r.warnings, warnings.length);
  const target = join(base, "out");
  const res = await restore(repo, r.snapshotId, { target });
  assert.deepEqual(res.errors, []);
  const skip = new Set(["fifo", "socket", "unreadable"]);
  const diffs = await compareTrees(made.root, join(target, made.root), {
    ignore: (rel) => skip.has(rel.toString().split("/").pop() ?? ""),
  });
  assert.deepEqual(diffs, [], formatDifferences(diffs));
});

test("backup() reuses unchanged files from the parent and lists every pack in the manifest", async () => {
  const base = await tmp();
  const src = join(base, "data");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(join(src, "sub"), { recursive: true });
  for (let i = 0; i < 20; i++)
    await writeFile(join(src, "sub", `f${i}`), `file number ${i}\n`.repeat(100 + i));
  await writeFile(join(src, "big"), Buffer.alloc(3 * 1024 * 1024, 7));
  const repo = await testRepository();
  const first = await backup(repo, { paths: [src], host: "h", workers: 2 });
  assert.equal(first.stats.newFiles, 21);
  await appendFile(join(src, "sub", "f3"), "changed");
  await writeFile(join(src, "new"), "new file");
  const second = await backup(repo, { paths: [src], host: "h", workers: 2 });
  assert.equal(second.snapshot.parent, first.snapshotId);
  assert.equal(second.stats.unchangedFiles, 20);
  assert.equal(second.stats.changedFiles, 1);
  assert.equal(second.stats.newFiles, 1);
  assert.ok(second.stats.processedBytes < 10_000, String(second.stats.processedBytes));
  // Every pack referenced by the whole tree of the second snapshot is in its manifest.
  const manifests = await collect(repo.storage.list("manifests/"));
  assert.equal(manifests.length, 2);
  const all = await Promise.all(
    manifests.map(async (m) => parseManifest(await repo.storage.get(m.key))),
  );
  const m2 = all.find((m) => m.snapshot === second.snapshotId)!;
  assert.deepEqual(m2.packs, [...(await referencedPacks(repo, second.snapshotId))].sort());
  assert.deepEqual(await structuralProblems(repo), []);
  // A different host gets no parent.
  const third = await backup(repo, { paths: [src], host: "other", workers: 1 });
  assert.equal(third.snapshot.parent, undefined);
  assert.equal(third.stats.unchangedFiles, 0);
  assert.equal(third.stats.addedBytes < 10_000, true); // data deduplicated against the index
});

test("backup() tags skipped sockets and FIFOs with kind 'skipped', unreadable files not", async () => {
  const { mkdir, chmod } = await import("node:fs/promises");
  const { execFileSync } = await import("node:child_process");
  const src = join(await tmp(), "src");
  await mkdir(src);
  execFileSync("mkfifo", [join(src, "pipe")]);
  await writeFile(join(src, "secret"), "no access");
  await chmod(join(src, "secret"), 0);
  const repo = await testRepository();
  const r = await backup(repo, { paths: [src], workers: 1 });
  const byName = new Map(r.warningList.map((w) => [w.path.split("/").pop(), w.kind]));
  assert.equal(byName.get("pipe"), "skipped");
  if (process.getuid?.() !== 0) assert.notEqual(byName.get("secret"), "skipped");
});

test("backup() reports progress within a large file, chunk by chunk", async () => {
  const { mkdir } = await import("node:fs/promises");
  const { pseudoRandomBytes } = await import("../../fsmeta/testing/make-tree.ts");
  const src = join(await tmp(), "src");
  await mkdir(src);
  const size = 32 << 20;
  await writeFile(join(src, "big"), pseudoRandomBytes(size, 77));
  const repo = await testRepository();
  const seen: { files: number; bytes: number; processedBytes: number }[] = [];
  await backup(repo, {
    paths: [src],
    workers: 1,
    onProgress: (p) => seen.push({ ...p }),
  });
  // Samples taken while the file was still being read (it counts as a file only at the end).
  const during = seen.filter((p) => p.files === 0 && p.bytes > 0);
  assert.ok(during.length >= 3, JSON.stringify(seen));
  for (let i = 1; i < during.length; i++)
    assert.ok(during[i]!.bytes > during[i - 1]!.bytes, JSON.stringify(during));
  assert.ok(
    during.every((p) => p.bytes <= size && p.processedBytes === p.bytes),
    JSON.stringify(during),
  );
  const last = seen[seen.length - 1]!;
  assert.equal(last.bytes, size);
});
