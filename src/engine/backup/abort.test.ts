import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CofferError } from "../../core/errors.ts";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { LocalStorage } from "../../storage/local.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { collect } from "../../core/parallel.ts";
import { backup } from "./backup.ts";
import { backupStream } from "./stream.ts";
import { DataPipeline } from "./pipeline/data-pipeline.ts";
import { testRepository } from "../testing/fixtures.ts";

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-backup-abort-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Memory storage that calls `onData` when a data pack is stored (after the walk ended). */
class TrippingStorage extends MemoryStorage {
  constructor(private readonly onData: () => void) {
    super();
  }
  override async putIfAbsent(key: string, bytes: Uint8Array): Promise<"created" | "exists"> {
    const r = await super.putIfAbsent(key, bytes);
    if (key.startsWith("data/")) this.onData();
    return r;
  }
}

const isInterrupted = (err: unknown): boolean =>
  err instanceof CofferError && err.code === "INTERRUPTED";

test("backup() aborted after the walk (while packs are flushed) commits nothing", async () => {
  const src = join(await tmp(), "src");
  await mkdir(src);
  await writeFile(join(src, "only"), "a small file\n");
  const ac = new AbortController();
  const storage = new TrippingStorage(() => {
    ac.abort();
  });
  const repo = await testRepository({ storage });
  await assert.rejects(
    backup(repo, { paths: [src], workers: 1, signal: ac.signal }),
    isInterrupted,
  );
  assert.deepEqual(await collect(storage.list("snapshots/")), []);
  assert.deepEqual(await collect(storage.list("manifests/")), []);
  assert.deepEqual(await collect(storage.list("index/")), []);
});

test("backupStream() aborted after the stream ended commits nothing", async () => {
  const ac = new AbortController();
  const storage = new TrippingStorage(() => {
    ac.abort();
  });
  const repo = await testRepository({ storage });
  async function* source(): AsyncGenerator<Uint8Array> {
    await Promise.resolve();
    yield pseudoRandomBytes(1 << 20, 5);
  }
  await assert.rejects(
    backupStream(repo, { source: source(), filename: "dump", workers: 1, signal: ac.signal }),
    isInterrupted,
  );
  assert.deepEqual(await collect(storage.list("snapshots/")), []);
  assert.deepEqual(await collect(storage.list("manifests/")), []);
});

test("an aborted DataPipeline accepts no more work", async () => {
  const repo = await testRepository();
  const ac = new AbortController();
  const pipeline = new DataPipeline(repo, { workers: 1, signal: ac.signal });
  try {
    ac.abort();
    await assert.rejects(pipeline.addFile(Buffer.from("/nonexistent"), 10), isInterrupted);
    await assert.rejects(pipeline.waitForRoom(), isInterrupted);
    await assert.rejects(pipeline.finish(), isInterrupted);
  } finally {
    await pipeline.close();
  }
});

test("backup() onto a full disk (2 MiB tmpfs) fails once, with no per-file warnings (slow: mount)", async (t) => {
  const base = await tmp();
  const mnt = join(base, "small-disk");
  await mkdir(mnt);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "ignore" });
  } catch {
    t.skip("cannot mount a 2 MiB tmpfs here (needs root)");
    return;
  }
  try {
    const storage = new LocalStorage(join(mnt, "repo"));
    const repo = await testRepository({ storage });
    const src = join(base, "src");
    await mkdir(src);
    // Many incompressible files: several are in flight in the workers when the disk fills.
    for (let i = 0; i < 8; i++)
      await writeFile(join(src, `f${String(i)}`), pseudoRandomBytes(1 << 20, 40 + i));
    const warnings: string[] = [];
    await assert.rejects(
      backup(repo, {
        paths: [src],
        workers: 2,
        onWarning: (w) => warnings.push(`${w.path}: ${w.message}`),
      }),
      (err: unknown) => err instanceof Error && /no space left on device/.test(err.message),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(await collect(storage.list("snapshots/")), []);
    assert.deepEqual(await collect(storage.list("manifests/")), []);
  } finally {
    execFileSync("umount", [mnt]);
  }
});
