import assert from "node:assert/strict";
import { chmod, mkdtemp, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { packKey } from "../../format/pack.ts";
import {
  compareTrees,
  formatDifferences,
  makeTree,
  type MadeTree,
} from "../../fsmeta/testing/make-tree.ts";
import { LocalStorage } from "../../storage/local.ts";
import { backup } from "../backup/index.ts";
import { check } from "../check/index.ts";
import type { Repository } from "../repository/index.ts";
import { restore } from "./restore.ts";
import { testRepository } from "../testing/fixtures.ts";
import { resolvePath } from "../repository/index.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-restore-it-"));
  dirs.push(d);
  return d;
}

const skip = new Set(["fifo", "socket", "unreadable"]);
const ignore = (rel: Buffer): boolean => skip.has(rel.toString().split("/").pop() ?? "");

async function setup(): Promise<{
  base: string;
  made: MadeTree;
  repo: Repository;
  repoDir: string;
  snapshotId: string;
}> {
  const base = await tmp();
  const made = await makeTree(join(base, "src"), {
    largeSize: 1536 * 1024,
    sparseSize: 4 * 1024 * 1024,
  });
  const repoDir = join(base, "repo");
  const repo = await testRepository({ storage: new LocalStorage(repoDir) });
  const r = await backup(repo, { paths: [made.root], host: "h", workers: 1 });
  return { base, made, repo, repoDir, snapshotId: r.snapshotId };
}

test("restore() after backup() of the make-tree fixture is bit-exact, and include/exclude select (slow)", async () => {
  const { base, made, repo, snapshotId } = await setup();
  const full = join(base, "full");
  const res = await restore(repo, "latest", { target: full });
  assert.deepEqual(res.errors, []);
  const diffs = await compareTrees(made.root, join(full, made.root), { ignore });
  assert.deepEqual(diffs, [], formatDifferences(diffs));

  const inc = join(base, "inc");
  const r2 = await restore(repo, snapshotId, { target: inc, include: ["xattr"] });
  assert.deepEqual(r2.errors, []);
  assert.deepEqual((await readdir(join(inc, made.root))).sort(), ["xattr"]);
  const d2 = await compareTrees(join(made.root, "xattr"), join(inc, made.root, "xattr"), {
    root: true,
  });
  assert.deepEqual(d2, [], formatDifferences(d2));

  const exc = join(base, "exc");
  const r3 = await restore(repo, snapshotId, { target: exc, exclude: ["*.bin", "xattr"] });
  assert.deepEqual(r3.errors, []);
  const names = await readdir(join(exc, made.root));
  assert.ok(
    !names.includes("large.bin") && !names.includes("xattr") && names.includes("regular.txt"),
    names.join(","),
  );
});

test("restore() of a repository with a corrupted pack names the affected files and restores the rest intact (slow)", async () => {
  const { base, made, repo, repoDir, snapshotId } = await setup();
  const snap = await repo.loadSnapshot(snapshotId);
  const large = await resolvePath(
    repo,
    snap.tree,
    Buffer.concat([Buffer.from(made.root + "/"), made.paths.large]),
  );
  const blob = large.node!.content![0]!;
  const loc = repo.locate("data", blob)!;
  const file = join(repoDir, packKey(loc.packId));
  await chmod(file, 0o644);
  const fh = await open(file, "r+");
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, loc.offset + 100);
  b[0] = b[0]! ^ 0x80;
  await fh.write(b, 0, 1, loc.offset + 100);
  await fh.close();

  // check --read-data names the same files restore will fail on
  const report = await check(repo, { readData: true });
  assert.equal(report.ok, false);
  const affected = report.affected.find((a) => a.id === snapshotId)?.paths.map((p) => p.path) ?? [];
  assert.ok(affected.includes(`${made.root}/large.bin`), affected.join(","));

  const target = join(base, "out");
  const res = await restore(repo, snapshotId, { target });
  const failed = res.errors.map((e) => e.path).sort();
  assert.deepEqual(failed, [...affected].sort());
  await assert.rejects(stat(join(target, made.root, "large.bin")));
  assert.equal(await readFile(join(target, made.root, "regular.txt"), "utf8"), "hello, coffer\n");
  const diffs = await compareTrees(made.root, join(target, made.root), {
    ignore: (rel) => ignore(rel) || failed.some((f) => f === `${made.root}/${rel.toString()}`),
  });
  assert.deepEqual(diffs, [], formatDifferences(diffs));
});
