import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fuseUnusable, isMounted, until } from "./mount-testing.ts";
import { createHash } from "node:crypto";
import {
  chmod,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  compareTrees,
  formatDifferences,
  makeTree,
  pseudoRandomBytes,
} from "../../fsmeta/testing/make-tree.ts";
import { cliFixture, type CliFixture } from "../testing/cli-fixture.ts";
import { spawnCoffer, type CofferChild } from "../testing/run-coffer.ts";

const LARGE = 48 * 1024 * 1024;

async function backup(f: CliFixture, src: string, tag: string): Promise<void> {
  const r = await f.run(["backup", "-q", "--tag", tag, src]);
  assert.equal(r.code, 0, r.stderr);
}

async function dataPacks(repo: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const d of await readdir(join(repo, "data")))
    for (const p of await readdir(join(repo, "data", d))) out.add(join(repo, "data", d, p));
  return out;
}

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

async function startMount(
  f: CliFixture,
  mnt: string,
): Promise<{ m: CofferChild; stderr: () => string }> {
  const m = spawnCoffer(["mount", mnt], f.env());
  let err = "";
  m.child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
  await until("the mount", () => isMounted(mnt) || m.child.exitCode !== null);
  assert.ok(isMounted(mnt), `coffer mount failed: ${err}`);
  return { m, stderr: () => err };
}

test(
  "coffer mount: latest equals the source tree (non-UTF-8 names, hard links, sparse and large files), writes are refused, SIGHUP moves latest, a flipped byte is EIO for its file only, SIGTERM unmounts",
  { skip: fuseUnusable() ?? false, timeout: 900_000 },
  async () => {
    const f = await cliFixture("coffer-mount-");
    const src = join(f.dir, "src");
    const mnt = join(f.dir, "mnt");
    await mkdir(mnt);
    await makeTree(src, {
      largeSize: LARGE,
      sparseSize: 32 * 1024 * 1024,
      specials: false,
      unreadable: false,
    });
    await backup(f, src, "first");
    const { m, stderr } = await startMount(f, mnt);
    try {
      const latest = (): string => join(mnt, "latest", src);
      // the whole tree, bit-exact: content, modes, owners, times, symlinks, xattrs, hard links
      const diffs = await compareTrees(src, latest(), { sparseSlackBytes: false });
      assert.deepEqual(diffs, [], formatDifferences(diffs));
      const diff = spawnSync("diff", ["-r", "--no-dereference", src, latest()], {
        encoding: "utf8",
      });
      assert.equal(diff.status, 0, diff.stdout + diff.stderr);
      // the large file with dd, in 1 MiB reads
      const dd = spawnSync("dd", [`if=${join(latest(), "large.bin")}`, "bs=1M", "status=none"], {
        maxBuffer: LARGE * 2,
      });
      assert.equal(dd.status, 0, dd.stderr.toString());
      assert.equal(sha(dd.stdout), sha(await readFile(join(src, "large.bin"))));
      // the shortcuts and the top level
      assert.deepEqual((await readdir(mnt)).sort(), [
        "hosts",
        "ids",
        "latest",
        "snapshots",
        "tags",
      ]);
      const first = await readlink(join(mnt, "latest"));
      assert.match(first, /^snapshots\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      assert.equal(await readlink(join(mnt, "tags", "first", "latest")), `../../${first}`);
      // every kind of write is refused with EROFS
      const file = join(latest(), "regular.txt");
      for (const [what, op] of [
        ["write", () => writeFile(join(latest(), "new.txt"), "x")],
        ["overwrite", () => writeFile(file, "x")],
        ["mkdir", () => mkdir(join(latest(), "newdir"))],
        ["unlink", () => unlink(file)],
        ["chmod", () => chmod(file, 0o777)],
        ["mkdir at the top", () => mkdir(join(mnt, "snapshots", "x"))],
      ] as const) {
        await assert.rejects(op(), (err: NodeJS.ErrnoException) => err.code === "EROFS", what);
      }
      // a new snapshot appears on SIGHUP without remounting
      await writeFile(join(src, "added.txt"), "added later\n");
      await backup(f, src, "second");
      m.child.kill("SIGHUP");
      await until("latest to move", async () => (await readlink(join(mnt, "latest"))) !== first);
      assert.equal(await readFile(join(latest(), "added.txt"), "utf8"), "added later\n");
      assert.equal((await readdir(join(mnt, "snapshots"))).length, 2);
      // a flipped byte in the pack of one file: EIO on that file only, named on stderr
      const before = await dataPacks(f.repo);
      await writeFile(join(src, "victim.bin"), pseudoRandomBytes(200_000, 42));
      await backup(f, src, "third");
      // new packs: victim.bin's data pack (incompressible, so at least its size) and a tree pack
      const fresh = [...(await dataPacks(f.repo))].filter((p) => !before.has(p));
      const sizes = await Promise.all(fresh.map(async (p) => (await stat(p)).size));
      assert.equal(sizes.filter((n) => n >= 200_000).length, 1, "one new data pack");
      const victimPack = fresh[sizes.findIndex((n) => n >= 200_000)]!;
      const pack = Buffer.from(await readFile(victimPack));
      pack[1000] = pack[1000]! ^ 0x01;
      await chmod(victimPack, 0o644);
      await writeFile(victimPack, pack);
      m.child.kill("SIGHUP");
      await until(
        "the third snapshot",
        async () => (await readdir(join(mnt, "snapshots"))).length === 3,
      );
      await assert.rejects(
        readFile(join(latest(), "victim.bin")),
        (err: NodeJS.ErrnoException) => err.code === "EIO",
      );
      assert.equal(await readFile(join(latest(), "added.txt"), "utf8"), "added later\n");
      assert.equal(
        sha(await readFile(join(latest(), "large.bin"))),
        sha(await readFile(join(src, "large.bin"))),
      );
      await until("the message", () => stderr().includes("victim.bin"));
      assert.match(
        stderr(),
        /Cannot read snapshots\/[^ ]+\/victim\.bin: Cannot read blob [0-9a-f]+: authentication failed/,
      );
      const st = await stat(join(latest(), "victim.bin"));
      assert.equal(st.size, 200_000, "its metadata still shows");
    } finally {
      m.child.kill("SIGTERM");
      const done = await m.done;
      if (isMounted(mnt)) spawnSync("umount", ["-l", mnt]);
      assert.equal(done.code, 0, done.stderr);
      assert.ok(!isMounted(mnt), "SIGTERM unmounted");
      assert.match(done.stderr, /unmounted/);
      await f.remove();
    }
  },
);

test("coffer mount refuses a missing mount point or a file, before opening the repository", async () => {
  const f = await cliFixture("coffer-mount-");
  try {
    const missing = await f.run(["mount", join(f.dir, "nope")], { COFFER_PASSWORD: "" });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /^coffer: Cannot mount at .*nope: no such directory \(create it first\)\n$/,
    );
    await writeFile(join(f.dir, "file"), "x");
    const file = await f.run(["mount", join(f.dir, "file")]);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /Cannot mount at .*file: not a directory/);
    const two = await f.run(["mount", f.dir, f.dir]);
    assert.match(two.stderr, /mount: give one mount point/);
  } finally {
    await f.remove();
  }
});
