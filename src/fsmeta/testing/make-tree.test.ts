import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmod,
  lstat,
  mkdtemp,
  open,
  readFile,
  rm,
  symlink,
  unlink,
  lutimes,
  utimes,
  writeFile,
  link,
  chown,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setAttribute } from "fs-xattr";
import {
  compareTrees,
  formatDifferences,
  isRoot,
  makeTree,
  removeTree,
  withoutDacOverride,
  type MadeTree,
} from "./make-tree.ts";

let dir: string;
let tree: MadeTree;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "coffer-maketree-"));
  tree = await makeTree(join(dir, "src"), { largeSize: 64 * 1024, sparseSize: 8 << 20 });
});
after(async () => {
  await removeTree(dir);
});

/** ns → seconds that utimes() turns into exactly the truncated microsecond. */
const us = (ns: bigint): number => Number(ns / 1000n) / 1e6 + 5e-7;
const abs = (root: string, rel: Buffer): Buffer => Buffer.concat([Buffer.from(root + "/"), rel]);

test("makeTree() builds the special entries it promises", async () => {
  const st = (rel: Buffer) => lstat(abs(tree.root, rel), { bigint: true });
  const sparse = await st(tree.paths.sparse);
  assert.equal(sparse.size, 8n << 20n);
  assert.ok(sparse.blocks * 512n < 1n << 20n, `sparse.img allocates ${sparse.blocks * 512n} bytes`);
  assert.equal((await st(tree.paths.hardlinks[2])).nlink, 3n);
  assert.ok((await st(tree.paths.fifo!)).isFIFO());
  assert.ok((await st(tree.paths.socket!)).isSocket());
  assert.equal(Number((await st(tree.paths.setuid)).mode) & 0o7777, 0o4755);
  assert.equal(Number((await st(tree.paths.readonlyDir)).mode) & 0o7777, 0o555);
  assert.ok((await st(tree.paths.dangling)).isSymbolicLink());
  assert.notEqual((await st(tree.paths.regular)).mtimeNs % 1000n, 0n, "times carry nanoseconds");
  assert.equal(tree.unreadableEffective, !isRoot());
  assert.equal(tree.ownersVaried, isRoot());
});

test("withoutDacOverride() makes the mode-000 file unreadable for root too", (t) => {
  if (!isRoot()) {
    t.skip("not root: the file is already unreadable");
    return;
  }
  const [cmd, ...args] = withoutDacOverride();
  assert.throws(
    () =>
      execFileSync(cmd!, [...args, "cat", abs(tree.root, tree.paths.unreadable!).toString()], {
        stdio: "pipe",
      }),
    /Permission denied/,
  );
});

test("compareTrees() finds no difference between a tree and its `cp -a` copy", async () => {
  const copy = join(dir, "copy-identical");
  execFileSync("cp", ["-a", "--sparse=always", tree.root, copy]);
  const diffs = await compareTrees(tree.root, copy, { timePrecisionNs: 1n, root: true });
  assert.deepEqual(diffs, [], formatDifferences(diffs));
});

test("compareTrees() reports each kind of difference", async () => {
  const copy = join(dir, "copy-mutated");
  execFileSync("cp", ["-a", "--sparse=always", tree.root, copy]);
  const c = (s: string | Buffer): Buffer => abs(copy, typeof s === "string" ? Buffer.from(s) : s);
  const keepTimes = async (p: Buffer, fn: () => Promise<void>): Promise<void> => {
    const st = await lstat(p, { bigint: true });
    await fn();
    await lutimes(p, us(st.atimeNs), us(st.mtimeNs));
  };
  // content: same size, one byte flipped
  await keepTimes(c(tree.paths.large), async () => {
    const fh = await open(c(tree.paths.large), "r+");
    await fh.write(Buffer.from([0x42]), 0, 1, 100);
    await fh.close();
  });
  await chmod(c("modes/private"), 0o644);
  await utimes(c(tree.paths.regular), 1, 1);
  const linkSt = await lstat(c(tree.paths.symlink), { bigint: true });
  await keepTimes(c("links"), async () => {
    await unlink(c(tree.paths.symlink));
    await symlink("elsewhere", c(tree.paths.symlink));
  });
  await lutimes(c(tree.paths.symlink), us(linkSt.atimeNs), us(linkSt.mtimeNs));
  await keepTimes(c("hard"), async () => {
    const data = await readFile(c(tree.paths.hardlinks[1]));
    await unlink(c(tree.paths.hardlinks[1]));
    await writeFile(c(tree.paths.hardlinks[1]), data, { mode: 0o640 });
    await chmod(c(tree.paths.hardlinks[1]), 0o640);
    const a = await lstat(c(tree.paths.hardlinks[0]), { bigint: true });
    await utimes(c(tree.paths.hardlinks[1]), us(a.atimeNs), us(a.mtimeNs));
  });
  await keepTimes(c(tree.paths.xattrFile), () =>
    setAttribute(c(tree.paths.xattrFile).toString(), "user.coffer.text", "changed"),
  );
  // sparse: fill the hole
  await keepTimes(c(tree.paths.sparse), async () => {
    const fh = await open(c(tree.paths.sparse), "r+");
    await fh.write(Buffer.alloc(7 << 20), 0, 7 << 20, 4096);
    await fh.close();
  });
  await keepTimes(c("names"), async () => {
    await rm(c(tree.paths.nonUtf8File));
    await writeFile(c("names/extra"), "x");
    await utimes(c("names/extra"), 1, 1);
  });
  if (isRoot()) await chown(c(tree.paths.empty), 4321, 4321);
  // hard link gained where there was none
  await keepTimes(c("modes"), () => link(c("modes/open"), c("modes/open-link")));

  const diffs = await compareTrees(tree.root, copy, {
    atime: false,
    timePrecisionNs: 1000n /* this test keeps times with lutimes */,
  });
  const got = diffs.map((d) => `${d.what} ${d.path.toString("latin1")}`).sort();
  const expected = [
    "content large.bin",
    "mode modes/private",
    "mtime regular.txt",
    "symlink links/to-regular",
    "hardlinks hard/a",
    "hardlinks hard/b",
    "hardlinks links/c-hardlink",
    "xattrs xattr/file",
    "sparse sparse.img",
    `missing ${tree.paths.nonUtf8File.toString("latin1")}`,
    "extra names/extra",
    "extra modes/open-link",
    "hardlinks modes/open",
    ...(isRoot() ? ["owner empty"] : []),
  ].sort();
  assert.deepEqual(got, expected, formatDifferences(diffs));
  const ignored = await compareTrees(tree.root, copy, {
    ignore: (p) => p.toString().startsWith("names") || p.toString() === "modes",
  });
  assert.ok(
    !ignored.some(
      (d) => d.path.toString().startsWith("names") || d.path.toString().startsWith("modes"),
    ),
  );
});
