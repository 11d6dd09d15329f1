import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTree, removeTree, withoutDacOverride } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, lastJson, type CliFixture } from "./testing/cli-fixture.ts";
import { jsonLines } from "./testing/run-coffer.ts";

interface Summary {
  snapshot_id: string;
  parent: string | null;
  newFiles: number;
  changedFiles: number;
  unchangedFiles: number;
  processedBytes: number;
  read_errors: number;
  skipped: number;
}
interface SnapshotJson {
  id: string;
  short_id: string;
  host: string;
  tags: string[];
  paths: string[];
  time: string;
  parent?: string;
}
interface LsJson {
  path?: string;
}

describe("coffer backup, end to end (slow: real processes)", () => {
  let f: CliFixture;
  before(async () => {
    f = await cliFixture("coffer-cli-backup-");
  });
  after(async () => {
    await removeTree(f.dir);
  });

  const snapshots = async (...args: string[]): Promise<SnapshotJson[]> =>
    (await f.json(["snapshots", ...args]))[0] as SnapshotJson[];
  const lsPaths = async (ref: string): Promise<string[]> =>
    (await f.json(["ls", ref])).map((e) => (e as LsJson).path ?? "");

  test("an unreadable file: backup carries on, names it, exits 3; the snapshot has the rest", async () => {
    const src = join(f.dir, "unreadable-src");
    const made = await makeTree(src, {
      largeSize: 64 << 10,
      sparseSize: 1 << 20,
      specials: true,
      unreadable: true,
    });
    const unreadable = join(src, made.paths.unreadable?.toString() ?? "");
    const r = await f.run(["backup", src], {}, undefined, { prefix: withoutDacOverride() });
    assert.equal(r.code, 3, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.ok(
      lines.some(
        (l) => l.startsWith("warning:") && l.includes(unreadable) && /permission denied/i.test(l),
      ),
      r.stderr,
    );
    assert.match(r.stderr, /1 file could not be read; snapshot [0-9a-f]{8} is incomplete/);
    // the skipped FIFO and socket are named too, but are not counted as read errors
    assert.ok(
      lines.some((l) => l.includes(join(src, "special/fifo"))),
      r.stderr,
    );
    assert.ok(
      lines.some((l) => l.includes(join(src, "special/socket"))),
      r.stderr,
    );
    assert.match(r.stdout.toString(), /snapshot [0-9a-f]{8} saved/);
    const saved = await lsPaths("latest");
    assert.ok(saved.includes(join(src, "regular.txt")));
    assert.ok(saved.includes(join(src, "special")));
    assert.ok(!saved.includes(unreadable));
  });

  test("sockets and FIFOs are skipped with a warning naming each, and the backup exits 0", async () => {
    const src = join(f.dir, "special-src");
    await makeTree(src, {
      largeSize: 1 << 10,
      sparseSize: 1 << 20,
      specials: true,
      unreadable: false,
    });
    const r = await f.run(["backup", src, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = lastJson(jsonLines(r.stdout.toString())) as unknown as Summary;
    assert.equal(s.read_errors, 0);
    assert.equal(s.skipped, 2);
    const warnings = jsonLines(r.stderr).filter(
      (l): l is { message_type: string; path: string; kind: string; message: string } =>
        (l as { message_type?: string }).message_type === "warning",
    );
    assert.deepEqual(warnings.map((w) => [w.path, w.kind]).sort(), [
      [join(src, "special/fifo"), "skipped"],
      [join(src, "special/socket"), "skipped"],
    ]);
  });

  test("--exclude, --exclude-file, --host, --tag (repeated and comma-separated) and --time", async () => {
    const src = join(f.dir, "sel");
    await mkdir(join(src, "keep"), { recursive: true });
    await mkdir(join(src, "cache"), { recursive: true });
    await writeFile(join(src, "keep/a.txt"), "a");
    await writeFile(join(src, "keep/b.log"), "b");
    await writeFile(join(src, "cache/c"), "c");
    await writeFile(join(src, "notes.tmp"), "t");
    const exFile = join(f.dir, "excludes");
    await writeFile(exFile, "# caches\n*/cache\n\n*.tmp\n");
    const r = await f.run([
      "backup",
      src,
      "--exclude",
      "*.log",
      "--exclude-file",
      exFile,
      "--host",
      "web-1",
      "--tag",
      "daily,db",
      "--tag",
      "manual",
      "--time",
      "2025-01-31 23:00:00",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [snap, ...more] = await snapshots("--host", "web-1");
    assert.equal(more.length, 0);
    assert.ok(snap);
    assert.equal(snap.host, "web-1");
    assert.deepEqual(snap.tags, ["daily", "db", "manual"]);
    assert.equal(new Date(snap.time).getTime(), new Date(2025, 0, 31, 23, 0, 0).getTime());
    const saved = (await lsPaths(snap.short_id)).filter((p) => p.startsWith(src));
    assert.deepEqual(saved.sort(), [src, join(src, "keep"), join(src, "keep/a.txt")]);
  });

  test("--time that cannot be parsed is a usage error and saves nothing", async () => {
    const before = (await snapshots()).length;
    const r = await f.run(["backup", f.dir, "--time", "yesterday-ish"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Cannot parse --time/);
    assert.equal((await snapshots()).length, before);
  });

  test("--one-file-system does not descend into another file system (needs mount: root)", async (t) => {
    const src = join(f.dir, "xdev");
    const mnt = join(src, "mnt");
    await mkdir(mnt, { recursive: true });
    await writeFile(join(src, "here.txt"), "here");
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a tmpfs here");
      return;
    }
    try {
      await writeFile(join(mnt, "other-fs.txt"), "there");
      const x = await f.run(["backup", "--one-file-system", src, "--tag", "xdev"]);
      assert.equal(x.code, 0, x.stderr);
      const onlyHere = await lsPaths("latest");
      assert.ok(onlyHere.includes(join(src, "here.txt")));
      assert.ok(onlyHere.includes(mnt), "the mount point itself is kept (empty)");
      assert.ok(!onlyHere.includes(join(mnt, "other-fs.txt")));
      const all = await f.run(["backup", src]);
      assert.equal(all.code, 0, all.stderr);
      assert.ok((await lsPaths("latest")).includes(join(mnt, "other-fs.txt")));
    } finally {
      execFileSync("umount", [mnt]);
    }
  });

  test("parent: same host and paths reuse it and read nothing; a touched file is read again; other host or paths get none", async () => {
    const src = join(f.dir, "parent");
    const other = join(f.dir, "parent-other");
    await mkdir(src, { recursive: true });
    await mkdir(other, { recursive: true });
    const big = Buffer.alloc(300_000, 7);
    await writeFile(join(src, "one.bin"), big);
    await writeFile(join(src, "two.txt"), "two");
    await writeFile(join(other, "x"), "x");

    const first = lastJson(await f.json(["backup", src, "--host", "h1"])) as unknown as Summary;
    assert.equal(first.parent, null);
    assert.equal(first.newFiles, 2);

    const second = lastJson(await f.json(["backup", src, "--host", "h1"])) as unknown as Summary;
    assert.equal(second.parent, first.snapshot_id);
    assert.equal(second.unchangedFiles, 2);
    assert.equal(second.processedBytes, 0, "unchanged files are not read again");

    // same content, new mtime (and ctime): read again
    const later = new Date(Date.now() + 60_000);
    await utimes(join(src, "one.bin"), later, later);
    const third = lastJson(await f.json(["backup", src, "--host", "h1"])) as unknown as Summary;
    assert.equal(third.parent, second.snapshot_id);
    assert.equal(third.changedFiles, 1);
    assert.equal(third.unchangedFiles, 1);
    assert.equal(third.processedBytes, big.length);

    const otherHost = lastJson(await f.json(["backup", src, "--host", "h2"])) as unknown as Summary;
    assert.equal(otherHost.parent, null);
    assert.equal(otherHost.newFiles, 2);

    const otherPaths = lastJson(
      await f.json(["backup", src, other, "--host", "h1"]),
    ) as unknown as Summary;
    assert.equal(otherPaths.parent, null, "a different path set gets no parent");
    assert.equal(otherPaths.newFiles, 3);
  });

  test("a backup whose paths do not exist saves nothing; one missing path among others exits 3", async () => {
    const before = (await snapshots()).length;
    const missing = join(f.dir, "no-such-dir");
    const r = await f.run(["backup", missing]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /no-such-dir does not exist; nothing was saved/);
    assert.equal((await snapshots()).length, before);

    const src = join(f.dir, "sel");
    const some = await f.run(["backup", src, missing]);
    assert.equal(some.code, 3, some.stderr);
    assert.match(some.stderr, /no-such-dir/);
    assert.equal((await snapshots()).length, before + 1);
  });
});
