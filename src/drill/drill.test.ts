import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { collect } from "../core/parallel.ts";
import { backup } from "../engine/backup/index.ts";
import { restore } from "../engine/restore/index.ts";
import { fxBytes } from "../engine/testing/check-fixture.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { LocalStorage } from "../storage/local.ts";
import { Repository } from "../engine/repository/index.ts";
import { drill } from "./drill.ts";
import { verifyRestored } from "./verify-restored.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-drill-"));
  dirs.push(d);
  return d;
}

async function corpus(): Promise<string> {
  const root = join(await tempDir(), "data");
  await mkdir(join(root, "sub"), { recursive: true });
  await writeFile(join(root, "big.bin"), fxBytes(2 * 1024 * 1024 + 5, 3));
  await writeFile(join(root, "sub", "a.txt"), "alpha\n");
  await writeFile(join(root, "sub", "b.txt"), "beta\n");
  await chmod(join(root, "sub", "b.txt"), 0o640);
  await symlink("a.txt", join(root, "sub", "link"));
  return root;
}

test("drill() restores into a scratch directory, verifies every file, counts them against the snapshot, and removes the scratch directory", async () => {
  const root = await corpus();
  const repo = await testRepository({ seed: "drill1" });
  const b = await backup(repo, { paths: [root] });
  const target = await tempDir();
  let t = Date.parse(b.snapshot.time) + 3_600_000;
  const r = await drill(
    repo,
    { id: b.snapshotId, snapshot: b.snapshot },
    {
      target,
      now: () => (t += 250),
    },
  );
  assert.equal(r.ok, true, JSON.stringify(r.failures));
  assert.equal(r.files, 3);
  assert.equal(r.symlinks, 1);
  assert.equal(r.bytesVerified, 2 * 1024 * 1024 + 5 + 6 + 5);
  assert.deepEqual(
    r.checks.map((c) => [c.name, c.ok]),
    [
      ["restore", true],
      ["files", true],
      ["count", true],
    ],
  );
  // Injected clock: 3 readings 250 ms apart after the start.
  assert.equal(r.recoveryTimeSeconds, 0.5);
  assert.equal(r.recoveryPointSeconds, 3600.25);
  assert.deepEqual(await readdir(target), [], "the scratch directory is removed");
});

test("verifyRestored() names each file whose content, size, mode or presence differs from the snapshot", async () => {
  const root = await corpus();
  const repo = await testRepository({ seed: "drill2" });
  const b = await backup(repo, { paths: [root] });
  const target = await tempDir();
  assert.deepEqual((await restore(repo, b.snapshotId, { target })).errors, []);
  const clean = await verifyRestored(repo, b.snapshot.tree, target);
  assert.deepEqual(clean.failures, []);
  const big = join(target, root, "big.bin");
  const bytes = fxBytes(2 * 1024 * 1024 + 5, 3);
  bytes[1_000_000] = (bytes[1_000_000] ?? 0) ^ 1;
  await writeFile(big, bytes);
  await chmod(join(target, root, "sub", "b.txt"), 0o600);
  await unlink(join(target, root, "sub", "a.txt"));
  const r = await verifyRestored(repo, b.snapshot.tree, target);
  const byPath = new Map<string, string>();
  for (const f of r.failures)
    byPath.set(f.path, [byPath.get(f.path), f.problem].filter(Boolean).join(" | "));
  assert.match(
    byPath.get(`${root}/big.bin`) ?? "",
    /^content differs from the snapshot at bytes \d+-\d+ \| modification time differs$/,
  );
  assert.equal(byPath.get(`${root}/sub/b.txt`), "mode 600, the snapshot has 640");
  assert.equal(byPath.get(`${root}/sub/a.txt`), "missing (ENOENT)");
});

test("drill() of a repository with a damaged data pack fails and names the files it could not restore", async () => {
  const root = await corpus();
  const repoDir = join(await tempDir(), "repo");
  const storage = new LocalStorage(repoDir);
  await testRepository({ storage, seed: "drill3", password: "pw-drill-3" });
  const repo = await Repository.open(storage, "pw-drill-3");
  const b = await backup(repo, { paths: [root] });
  await repo.loadIndex();
  for (const o of await collect(storage.list("data/"))) {
    const id = o.key.slice(o.key.lastIndexOf("/") + 1);
    if (repo.packs.get(id)?.type !== "data") continue;
    const path = join(repoDir, o.key);
    const { readFile } = await import("node:fs/promises");
    const buf = await readFile(path);
    buf[20] = (buf[20] ?? 0) ^ 0xff;
    await chmod(path, 0o600);
    await writeFile(path, buf);
  }
  const target = await tempDir();
  const r = await drill(
    repo,
    { id: b.snapshotId, snapshot: b.snapshot },
    { target, now: Date.now },
  );
  assert.equal(r.ok, false);
  assert.ok(r.failures.length > 0);
  for (const f of r.failures) assert.match(f.path, /\/(big\.bin|sub\/a\.txt|sub\/b\.txt)$/);
  assert.equal(r.checks.find((c) => c.name === "restore")?.ok, false);
  assert.deepEqual(await readdir(target), []);
});
