import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { makeTree, removeTree, type MadeTree } from "./testing/make-tree.ts";
import { walk, walkEvents, type WalkEntry, type WalkWarning } from "./walker.ts";

let dir: string;
let tree: MadeTree;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "coffer-walker-"));
  tree = await makeTree(join(dir, "t"), { largeSize: 4096, sparseSize: 1 << 20 });
});
after(async () => {
  await removeTree(dir);
});

const rel = (e: WalkEntry): string => e.relPath.toString("latin1");

test("walk() yields every entry depth-first in name-byte order with lstat fields", async () => {
  const entries: WalkEntry[] = [];
  for await (const e of walk([tree.root])) entries.push(e);
  const rels = entries.map((e) => e.relPath);
  // pre-order + byte order means the list of full relative paths is sorted component-wise
  for (let i = 1; i < rels.length; i++) {
    const a = rels[i - 1]!.toString("latin1")
      .split("/")
      .map((s) => Buffer.from(s, "latin1"));
    const b = rels[i]!.toString("latin1")
      .split("/")
      .map((s) => Buffer.from(s, "latin1"));
    let c = 0;
    for (let k = 0; k < Math.min(a.length, b.length) && c === 0; k++)
      c = Buffer.compare(a[k]!, b[k]!);
    assert.ok(
      c < 0 || (c === 0 && a.length < b.length),
      `${rels[i - 1]!.toString()} before ${rels[i]!.toString()}`,
    );
  }
  const byRel = new Map(entries.map((e) => [rel(e), e]));
  const root = byRel.get("")!;
  assert.equal(root.kind, "dir");
  assert.equal(root.path.toString(), tree.root);
  assert.equal(byRel.get(tree.paths.nonUtf8File.toString("latin1"))?.kind, "file");
  assert.deepEqual(
    byRel.get(tree.paths.nonUtf8File.toString("latin1"))?.name,
    Buffer.from([0x66, 0xff, 0xfe]),
  );
  assert.equal(byRel.get("special/fifo")?.kind, "fifo");
  assert.equal(byRel.get("special/socket")?.kind, "socket");
  const link = byRel.get("links/to-regular")!;
  assert.equal(link.kind, "symlink");
  assert.deepEqual(link.linkTarget, Buffer.from("../regular.txt"));
  const hard = byRel.get("hard/a")!;
  assert.equal(hard.stat.nlink, 3);
  assert.equal(byRel.get("hard/b")!.stat.ino, hard.stat.ino);
  const setuid = byRel.get("modes/setuid")!;
  assert.equal(setuid.stat.mode & 0o7777, 0o4755);
  assert.equal(setuid.stat.mtimeNs % 1000n !== 0n, true, "nanosecond mtimes are kept");
  assert.equal(typeof setuid.stat.size, "bigint");
  const deep = byRel.get(tree.paths.deepLeaf.toString("latin1"))!;
  assert.equal(deep.depth, 21);
  assert.equal(deep.root.toString(), tree.root);
});

test("walkEvents() gives enter/leave pairs with the sorted reported children (post-order)", async () => {
  const stack: Buffer[] = [];
  const seen = new Map<string, string[]>(); // dir -> children reported between enter and leave
  for await (const ev of walkEvents([tree.root], { excludes: ["*.txt"] })) {
    if (ev.type !== "enter" && stack.length > 0) {
      // every entry/enter event belongs to the top-of-stack directory
    }
    if (ev.type === "enter" || ev.type === "entry") {
      const parent = stack[stack.length - 1];
      if (parent !== undefined)
        seen.get(parent.toString("latin1"))!.push(ev.entry.name.toString("latin1"));
    }
    if (ev.type === "enter") {
      stack.push(ev.entry.relPath);
      seen.set(ev.entry.relPath.toString("latin1"), []);
    }
    if (ev.type === "leave") {
      const top = stack.pop()!;
      assert.deepEqual(ev.entry.relPath, top, "leave matches the innermost enter");
      assert.deepEqual(
        ev.children.map((c) => c.name.toString("latin1")),
        seen.get(top.toString("latin1")),
      );
      assert.ok(
        !ev.children.some((c) => c.name.toString().endsWith(".txt")),
        "excluded children are not listed",
      );
    }
  }
  assert.equal(stack.length, 0);
  assert.deepEqual(
    seen.get(""),
    [
      "d0",
      "empty",
      "hard",
      "large.bin",
      "links",
      "modes",
      "names",
      "owners",
      "sparse.img",
      "special",
      "xattr",
    ].filter((n) => n !== "owners" || tree.ownersVaried),
  );
});

test("walk() applies restic-style excludes and exclude files", async () => {
  const exfile = join(dir, "excludes");
  await writeFile(exfile, `# comment\n${tree.root}/modes\n**/d3/**\n`);
  const rels: string[] = [];
  for await (const e of walk([tree.root], { excludes: ["*.bin", "fifo"], excludeFiles: [exfile] }))
    rels.push(rel(e));
  assert.ok(!rels.includes("large.bin"));
  assert.ok(!rels.includes("special/fifo"));
  assert.ok(rels.includes("special/socket"));
  assert.ok(
    !rels.some((r) => r.startsWith("modes")),
    "anchored pattern excludes the dir and its subtree",
  );
  assert.ok(rels.includes("d0/d1/d2"));
  assert.ok(!rels.includes("d0/d1/d2/d3"));
  await assert.rejects(
    async () => {
      for await (const e of walk([tree.root], { excludeFiles: [join(dir, "missing")] }))
        assert.ok(e);
    },
    (e: unknown) => isCofferError(e, "BAD_INPUT") && /Cannot read exclude file/.test(e.message),
  );
});

test("walk() warns and carries on for missing roots and directories that vanish", async () => {
  const root = join(dir, "vanish");
  await mkdir(join(root, "a", "victim", "x"), { recursive: true });
  await writeFile(join(root, "b"), "b");
  await symlink("nowhere", join(root, "a", "zlink"));
  const warnings: WalkWarning[] = [];
  const rels: string[] = [];
  let victim: WalkEntry | undefined;
  for await (const ev of walkEvents([join(dir, "no-such-root"), root], {
    onWarning: (w) => warnings.push(w),
  })) {
    if (ev.type === "leave") continue;
    rels.push(rel(ev.entry));
    if (ev.type === "enter" && ev.entry.name.toString() === "victim") {
      victim = ev.entry;
      await rm(ev.entry.path.toString(), { recursive: true }); // gone before it is listed
    }
  }
  assert.deepEqual(rels, ["", "a", "a/victim", "a/zlink", "b"]);
  assert.equal(victim?.contentsSkipped, "unreadable");
  assert.equal(warnings.length, 2);
  assert.equal(warnings[0]!.op, "lstat");
  assert.match(warnings[0]!.message, /^Cannot stat .*no-such-root: not found$/);
  assert.equal(warnings[1]!.op, "readdir");
  assert.match(warnings[1]!.message, /^Cannot read directory .*victim: not found$/);
});

test("walk() with oneFileSystem does not descend into other mounts (/dev has /dev/shm, /dev/pts)", async (t) => {
  const { lstat } = await import("node:fs/promises");
  const [devSt, shmSt] = await Promise.all([
    lstat("/dev", { bigint: true }),
    lstat("/dev/shm", { bigint: true }).catch(() => undefined),
  ]);
  if (shmSt === undefined || shmSt.dev === devSt.dev) {
    t.skip("no separate mount below /dev here");
    return;
  }
  let shm: WalkEntry | undefined;
  for await (const e of walk(["/dev"], { oneFileSystem: true, onWarning: () => undefined })) {
    if (e.path.toString() === "/dev/shm") shm = e;
    if (e.stat.dev !== devSt.dev) {
      assert.equal(e.kind, "dir", `${e.path.toString()} is a mount point`);
      assert.equal(e.contentsSkipped, "other-device");
    }
  }
  assert.equal(shm?.contentsSkipped, "other-device", "the mount point itself is reported");
});

test("walk() honours an AbortSignal with INTERRUPTED", async () => {
  const ac = new AbortController();
  await assert.rejects(
    async () => {
      for await (const e of walk([tree.root], { signal: ac.signal })) if (e.depth === 1) ac.abort();
    },
    (e: unknown) => isCofferError(e, "INTERRUPTED"),
  );
});
