import assert from "node:assert/strict";
import { lstat, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HardlinkRestorer, HardlinkTracker } from "./hardlinks.ts";

const p = (s: string): Buffer => Buffer.from(s);

test("HardlinkTracker.firstPath() returns the first path of a multiply-linked inode", () => {
  const t = new HardlinkTracker();
  assert.equal(t.firstPath({ dev: 1n, ino: 5n, nlink: 1 }, p("/single")), undefined);
  assert.equal(t.firstPath({ dev: 1n, ino: 7n, nlink: 2 }, p("/a")), undefined);
  assert.deepEqual(t.firstPath({ dev: 1n, ino: 7n, nlink: 2 }, p("/b")), p("/a"));
  assert.equal(
    t.firstPath({ dev: 2n, ino: 7n, nlink: 2 }, p("/other-dev")),
    undefined,
    "dev is part of the key",
  );
  assert.equal(t.size, 2);
});

test("HardlinkRestorer links later occurrences to the first restored one, even concurrently", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-hl-"));
  try {
    const r = new HardlinkRestorer();
    const k = { dev: 9n, ino: 42n };
    const a = p(join(dir, "a"));
    const b = p(join(dir, "b"));
    const c = p(join(dir, "c"));
    await writeFile(c, "stale"); // an existing file is replaced by the link
    assert.equal(await r.claim(k, a), "write");
    const later = [r.claim(k, b), r.claim(k, c)]; // arrive before a is written
    await writeFile(a, "content");
    r.done(k, a, true);
    assert.deepEqual(await Promise.all(later), ["linked", "linked"]);
    const [sa, sb, sc] = await Promise.all([lstat(a), lstat(b), lstat(c)]);
    assert.equal(sb.ino, sa.ino);
    assert.equal(sc.ino, sa.ino);
    assert.equal(sa.nlink, 3);
    assert.equal(await readFile(c, "utf8"), "content");
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("HardlinkRestorer hands the write to the next occurrence when the first one failed", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-hl-"));
  try {
    const r = new HardlinkRestorer();
    const k = { dev: 1n, ino: 1n };
    const a = p(join(dir, "a"));
    const b = p(join(dir, "b"));
    const c = p(join(dir, "c"));
    assert.equal(await r.claim(k, a), "write");
    const pb = r.claim(k, b);
    r.done(k, a, false);
    assert.equal(await pb, "write");
    assert.equal(await r.claim(k, c), "write", "slot was released: c becomes the new first");
    await writeFile(c, "x");
    r.done(k, c, true);
    assert.equal(await r.claim(k, p(join(dir, "d"))), "linked");
  } finally {
    await rm(dir, { recursive: true });
  }
});
