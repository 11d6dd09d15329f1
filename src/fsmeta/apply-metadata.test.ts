import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, rm, symlink, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  applyMetadata,
  nsToUtimeSeconds,
  restoredTimeNs,
  type MetadataWarning,
} from "./apply-metadata.ts";
import { readXattrs } from "./xattrs.ts";

const isRoot = process.getuid?.() === 0;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "coffer-apply-"));
});
after(async () => {
  await chmod(join(dir, "d"), 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test("nsToUtimeSeconds() keeps exactly the truncated microsecond", async () => {
  const p = join(dir, "times");
  await writeFile(p, "");
  // many sub-microsecond patterns, including ones where ns/1e9 as a double rounds down
  for (const ns of [
    1_700_000_000_123_456_999n,
    1_700_000_000_123_457_000n,
    1_600_000_000_000_000_001n,
    4_000_000_000_999_999_999n,
    0n,
    999n,
  ]) {
    const { utimes } = await import("node:fs/promises");
    await utimes(p, nsToUtimeSeconds(ns), nsToUtimeSeconds(ns));
    const st = await lstat(p, { bigint: true });
    assert.equal(st.mtimeNs, (ns / 1000n) * 1000n);
  }
  assert.ok(restoredTimeNs(-1n) === -1n || restoredTimeNs(-1n) === -1000n);
});

test("applyMetadata() sets owner, then setuid mode, xattrs and ns-precision times on a file", async () => {
  const p = join(dir, "file");
  await writeFile(p, "x");
  const warnings: MetadataWarning[] = [];
  const n = await applyMetadata(
    p,
    {
      kind: "file",
      mode: 0o104750,
      uid: isRoot ? 1234 : process.getuid!(),
      gid: isRoot ? 5678 : process.getgid!(),
      mtimeNs: 1_650_000_000_987_654_321n,
      atimeNs: 1_640_000_000_000_000_999n,
      xattrs: [{ name: "user.k", value: Buffer.from([0, 1, 255]) }],
    },
    { onWarning: (w) => warnings.push(w) },
  );
  assert.equal(n, 0, warnings.map((w) => w.message).join("; "));
  const st = await lstat(p, { bigint: true });
  assert.equal(Number(st.mode) & 0o7777, 0o4750, "setuid survives because chown runs first");
  if (isRoot) assert.deepEqual([st.uid, st.gid], [1234n, 5678n]);
  assert.equal(st.mtimeNs, restoredTimeNs(1_650_000_000_987_654_321n));
  assert.equal(st.atimeNs, restoredTimeNs(1_640_000_000_000_000_999n));
  assert.deepEqual(await readXattrs(p, "file"), [
    { name: "user.k", value: Buffer.from([0, 1, 255]) },
  ]);
});

test("applyMetadata() on a symlink changes the link, not its target", async (t) => {
  const target = join(dir, "target");
  await writeFile(target, "t");
  const before = await lstat(target, { bigint: true });
  const l = join(dir, "link");
  await symlink("target", l);
  await applyMetadata(l, {
    kind: "symlink",
    mode: 0o120777,
    uid: isRoot ? 4321 : process.getuid!(),
    gid: isRoot ? 4321 : process.getgid!(),
    mtimeNs: 1_000_000_000_000_000_000n,
    atimeNs: 1_000_000_000_000_000_000n,
  });
  const ls = await lstat(l, { bigint: true });
  assert.equal(ls.mtimeNs, 1_000_000_000_000_000_000n);
  const after = await lstat(target, { bigint: true });
  assert.equal(after.mtimeNs, before.mtimeNs);
  assert.equal(after.mode, before.mode);
  if (!isRoot) {
    t.skip("ownership part needs root");
    return;
  }
  assert.equal(ls.uid, 4321n);
  assert.equal(after.uid, before.uid);
});

test("applyMetadata() in post-order keeps a read-only directory's mtime", async () => {
  const d = join(dir, "d");
  await mkdir(d);
  await writeFile(join(d, "child"), "c");
  await applyMetadata(d, {
    kind: "dir",
    mode: 0o40555,
    uid: process.getuid!(),
    gid: process.getgid!(),
    mtimeNs: 1_234_567_890_123_456_789n,
    atimeNs: 1_234_567_890_000_000_000n,
  });
  const st = await lstat(d, { bigint: true });
  assert.equal(Number(st.mode) & 0o7777, 0o555);
  assert.equal(st.mtimeNs, restoredTimeNs(1_234_567_890_123_456_789n));
});

test("applyMetadata() turns failures into warnings (missing path, refused chown)", async () => {
  const warnings: MetadataWarning[] = [];
  const n = await applyMetadata(
    join(dir, "missing"),
    {
      kind: "file",
      mode: 0o644,
      uid: 1,
      gid: 1,
      mtimeNs: 0n,
      atimeNs: 0n,
      xattrs: [{ name: "user.a", value: Buffer.from("v") }],
    },
    { owners: true, onWarning: (w) => warnings.push(w) },
  );
  assert.equal(n, 4);
  assert.deepEqual(
    warnings.map((w) => w.op),
    ["chown", "chmod", "xattr", "utimes"],
  );
  assert.match(warnings[0]!.message, /^Cannot chown .*missing to 1:1: ENOENT$/);
  assert.match(warnings[2]!.message, /^Cannot set xattr user\.a on .*missing: ENOENT$/);
});
