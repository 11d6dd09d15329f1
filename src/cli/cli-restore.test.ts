import assert from "node:assert/strict";
import { access, chmod, mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, lastJson, type CliFixture } from "./testing/cli-fixture.ts";

interface CheckJson {
  ok: boolean;
  damagedPacks: { id: string; snapshots: string[]; files: { snapshot: string; path: string }[] }[];
  affected: { id: string; paths: { path: string }[] }[];
  stats: { packs: number; packsRead: number; bytesRead: number };
}

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(root.length + 1));
  }
  return out.sort();
}

describe("coffer restore and check against damage (slow: real processes)", () => {
  let f: CliFixture;
  let src: string;
  const A = pseudoRandomBytes(100_000, 11);
  const B = pseudoRandomBytes(100_000, 12);
  let first = "";
  let second = "";

  before(async () => {
    f = await cliFixture("coffer-cli-restore-");
    src = join(f.dir, "src");
    await mkdir(join(src, "docs"), { recursive: true });
    await writeFile(join(src, "a.bin"), A);
    await writeFile(join(src, "b.bin"), B);
    await writeFile(join(src, "docs/readme.md"), "# readme\n");
    await writeFile(join(src, "docs/notes.log"), "log\n");
    first = String(lastJson(await f.json(["backup", src])).snapshot_id);
    await writeFile(join(src, "c.txt"), "only in the second snapshot\n");
    second = String(lastJson(await f.json(["backup", src])).snapshot_id);
  });
  after(async () => {
    await f.remove();
  });

  test("restore --include and --exclude restore only the matching paths", async () => {
    const inc = join(f.dir, "inc");
    const r1 = await f.run([
      "restore",
      first.slice(0, 8),
      "--target",
      inc,
      "--include",
      `${src}/docs`,
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const rel = src.slice(1);
    assert.deepEqual(await files(inc), [`${rel}/docs/notes.log`, `${rel}/docs/readme.md`]);

    const exc = join(f.dir, "exc");
    const r2 = await f.run([
      "restore",
      "latest",
      "--target",
      exc,
      "--exclude",
      "*.log",
      "--exclude",
      "*.bin",
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await files(exc), [`${rel}/c.txt`, `${rel}/docs/readme.md`]);
  });

  test("a damaged pack: restore names the file it cannot restore, restores the rest, exits 1; check --read-data names snapshots and files", async () => {
    // the data pack is the big one; damage the first blob in it
    const packs: { path: string; size: number }[] = [];
    for (const d of await readdir(join(f.repo, "data"))) {
      for (const p of await readdir(join(f.repo, "data", d))) {
        const path = join(f.repo, "data", d, p);
        packs.push({ path, size: (await stat(path)).size });
      }
    }
    packs.sort((x, y) => y.size - x.size);
    const data = packs[0];
    assert.ok(data && data.size > 200_000);
    await chmod(data.path, 0o644);
    const fh = await open(data.path, "r+");
    await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, 64);
    await fh.close();

    const target = join(f.dir, "damaged");
    const r = await f.run(["restore", "latest", "--target", target]);
    assert.equal(r.code, 1, r.stderr);
    const named = r.stderr.split("\n").filter((l) => l.startsWith("warning: cannot restore "));
    assert.equal(named.length, 1, r.stderr);
    const bad = named[0]?.includes(join(src, "a.bin")) === true ? "a.bin" : "b.bin";
    const good = bad === "a.bin" ? "b.bin" : "a.bin";
    assert.match(named[0] ?? "", new RegExp(`${bad}: .*(authentication|damaged|corrupt)`, "i"));
    assert.match(r.stdout.toString(), /1 file could NOT be restored correctly/);
    const out = join(target, src);
    assert.ok((await readFile(join(out, good))).equals(good === "a.bin" ? A : B));
    assert.equal(await readFile(join(out, "c.txt"), "utf8"), "only in the second snapshot\n");
    await assert.rejects(access(join(out, bad)), "no damaged file under its real name");

    const c = await f.run(["check", "--read-data"]);
    assert.equal(c.code, 1, c.stdout.toString());
    const text = c.stdout.toString();
    assert.match(text, new RegExp(`pack ${data.path.slice(-64, -56)} is damaged`));
    for (const id of [first, second]) {
      assert.match(
        text,
        new RegExp(
          `snapshot ${id.slice(0, 8)}: 1 path\\(s\\) cannot be restored correctly:\\n  ${join(src, bad)}  \\(`,
        ),
      );
    }
    assert.doesNotMatch(text, new RegExp(`${good}|c\\.txt|readme`));
    assert.match(text, /Fatal: repository contains errors/);

    const j = lastJson(await f.json(["check", "--read-data"], 1)) as unknown as CheckJson;
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.damagedPacks.map((p) => p.snapshots.sort()),
      [[first, second].sort()],
    );
    assert.deepEqual(
      j.damagedPacks[0]?.files.map((x) => `${x.snapshot}:${x.path}`).sort(),
      [first, second].map((s) => `${s}:${join(src, bad)}`).sort(),
    );
  });

  test("check --read-data-subset reads part of the packs; bad percentages are usage errors", async () => {
    // the damaged pack from the test before may or may not be among the packs read
    const sub = await f.run(["check", "--read-data-subset", "50%", "--json"]);
    assert.ok(sub.code === 0 || sub.code === 1, sub.stderr);
    const j = JSON.parse(sub.stdout.toString()) as CheckJson;
    assert.equal(j.ok, sub.code === 0);
    assert.ok(
      j.stats.packsRead >= 1 && j.stats.packsRead <= j.stats.packs,
      JSON.stringify(j.stats),
    );
    assert.ok(j.stats.bytesRead > 0);
    for (const bad of ["0%", "150%", "half", "50"]) {
      const r = await f.run(["check", "--read-data-subset", bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--read-data-subset: expected a percentage/);
    }
  });
});
