// Issue 10, findings 2 and 3, through the real CLI: a repository heals from a lost pack, a
// damaged index object and a damaged snapshot object.
import assert from "node:assert/strict";
import { chmod, mkdir, open, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { cliFixture, lastJson, type CliFixture } from "./testing/cli-fixture.ts";

const fixtures: CliFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.remove();
});

async function flipByte(file: string): Promise<void> {
  await chmod(file, 0o644);
  const fh = await open(file, "r+");
  const { size } = await fh.stat();
  const b = Buffer.alloc(1);
  const at = Math.floor(size / 2);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x01;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

/** Every file under `root` (relative path → bytes). */
async function tree(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true }))
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out.set(p.slice(root.length + 1), await readFile(p));
    }
  return out;
}

const ids = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();

interface Damaged {
  f: CliFixture;
  src: string;
  /** Snapshot ID → the files it holds (path relative to the source). */
  content: Map<string, Map<string, Buffer>>;
  lostPack: string;
  badIndex: string;
  badSnapshot: string;
}

/**
 * Three backups (three index objects); then the first backup's data pack is lost, the
 * second backup's index and the third snapshot object get a flipped byte, and one file of
 * the first backup is no longer on the source (its data is lost for good).
 */
async function damagedRepository(): Promise<Damaged> {
  const f = await cliFixture("coffer-cli-repair-");
  fixtures.push(f);
  const src = join(f.dir, "src");
  await mkdir(join(src, "sub"), { recursive: true });
  await writeFile(join(src, "a.bin"), pseudoRandomBytes(300_000, 1));
  await writeFile(join(src, "keep.txt"), "kept\n");
  await writeFile(join(src, "sub", "gone.bin"), pseudoRandomBytes(50_000, 2));
  const content = new Map<string, Map<string, Buffer>>();
  const snap = async (): Promise<string> => {
    const id = String(lastJson(await f.json(["backup", src])).snapshot_id);
    content.set(id, await tree(src));
    return id;
  };
  await snap();
  const firstData = await ids(join(f.repo, "data"));
  const firstIndex = await ids(join(f.repo, "index"));
  await writeFile(join(src, "b.bin"), pseudoRandomBytes(80_000, 3));
  await snap();
  const secondIndex = (await ids(join(f.repo, "index"))).filter((i) => !firstIndex.includes(i));
  await writeFile(join(src, "c.bin"), pseudoRandomBytes(70_000, 4));
  const third = await snap();
  // The first backup's data pack is the biggest object of its data/ subfolders.
  let lostPack = "";
  let size = -1;
  for (const d of firstData)
    for (const p of await ids(join(f.repo, "data", d))) {
      const s = (await readFile(join(f.repo, "data", d, p))).length;
      if (s > size) [lostPack, size] = [p, s];
    }
  await unlink(join(f.repo, "data", lostPack.slice(0, 2), lostPack));
  assert.equal(secondIndex.length, 1);
  const badIndex = secondIndex[0]!;
  await flipByte(join(f.repo, "index", badIndex));
  await flipByte(join(f.repo, "snapshots", third));
  await rm(join(src, "sub", "gone.bin"));
  return { f, src, content, lostPack, badIndex, badSnapshot: third };
}

/** `check` names every kind of damage and ends with the repair commands, in order. */
async function checkAdvises(d: Damaged): Promise<void> {
  const r = await d.f.run(["check"]);
  assert.equal(r.code, 1, r.stderr);
  const out = r.stdout.toString("utf8");
  assert.match(out, new RegExp(`error: index ${d.badIndex.slice(0, 8)}: `));
  assert.match(out, new RegExp(`Cannot use pack ${d.lostPack.slice(0, 8)}: pack is missing`));
  assert.match(out, new RegExp(`snapshot ${d.badSnapshot.slice(0, 8)} cannot be read`));
  const advice = out.slice(out.indexOf("To repair, run in this order"));
  assert.match(
    advice,
    /1\. coffer repair index\n.*\n {2}2\. coffer backup <the same paths>\n.*\n {2}3\. coffer repair snapshots --forget\n/,
  );
}

/** The last steps of both orders: check --read-data is clean, every snapshot restores. */
async function healed(d: Damaged, expected: Map<string, Map<string, Buffer>>): Promise<void> {
  const c = await d.f.run(["check", "--read-data"]);
  assert.equal(c.code, 0, c.stdout.toString() + c.stderr);
  assert.match(c.stdout.toString(), /no errors were found\n$/);
  const listed = (await d.f.json(["snapshots"]))[0] as { id: string }[];
  assert.deepEqual(listed.map((s) => s.id).sort(), [...expected.keys()].sort());
  for (const [id, files] of expected) {
    const target = join(d.f.dir, `restore-${id.slice(0, 8)}`);
    const r = await d.f.run(["restore", id, "--target", target]);
    assert.equal(r.code, 0, r.stderr);
    const got = await tree(join(target, d.src));
    assert.deepEqual([...got.keys()].sort(), [...files.keys()].sort(), id);
    for (const [p, b] of files) assert.ok(got.get(p)?.equals(b), `${id.slice(0, 8)} ${p}`);
  }
}

interface RepairJson {
  damaged: { id: string; paths: { path: string; what: string }[]; newId?: string; lost?: string }[];
}

test("coffer heals a lost pack, a damaged index and a damaged snapshot: check, repair index, backup, repair snapshots --forget", async () => {
  const d = await damagedRepository();
  const { f, src } = d;
  // Finding 3: the damage blocks nothing that is readable; each command names it.
  const list = await f.run(["snapshots"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(
    list.stderr,
    new RegExp(
      `warning: Cannot open snapshot ${d.badSnapshot.slice(0, 8)}: authentication failed; skipped \\(run coffer repair snapshots --forget\\)`,
    ),
  );
  const [oldest] = [...d.content.keys()];
  const ls = await f.run(["ls", oldest!.slice(0, 8)]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout.toString(), /\/keep\.txt\n/);
  assert.match(
    ls.stderr,
    new RegExp(
      `warning: Cannot open index ${d.badIndex.slice(0, 8)}: authentication failed; skipped \\(run coffer repair index\\)`,
    ),
  );
  const prune = await f.run(["prune"]);
  assert.equal(prune.code, 1);
  assert.match(
    prune.stderr,
    new RegExp(
      `Cannot prune: index ${d.badIndex.slice(0, 8)} is damaged \\(authentication failed\\); run coffer repair index first`,
    ),
  );
  await checkAdvises(d);

  const ri = await f.run(["repair", "index"]);
  assert.equal(ri.code, 0, ri.stderr);
  assert.match(ri.stdout.toString(), new RegExp(`damaged index ${d.badIndex.slice(0, 8)}: `));
  assert.match(
    ri.stdout.toString(),
    new RegExp(`pack ${d.lostPack.slice(0, 8)} is missing: its blobs are no longer indexed`),
  );

  const b = lastJson(await f.json(["backup", src]));
  const fresh = String(b.snapshot_id);

  const rs = lastJson(await f.json(["repair", "snapshots", "--forget"])) as unknown as RepairJson;
  const [first, second] = [...d.content.keys()];
  const byId = new Map(rs.damaged.map((x) => [x.id, x]));
  assert.deepEqual([...byId.keys()].sort(), [first!, second!, d.badSnapshot].sort());
  assert.match(byId.get(d.badSnapshot)!.lost!, /^snapshot object unreadable: /);
  const gone = `${src}/sub/gone.bin`;
  for (const id of [first!, second!])
    assert.deepEqual(byId.get(id)!.paths, [
      { path: gone, what: "file lost all 1 blob(s): kept as an empty file (was 50000 bytes)" },
    ]);
  // The repaired copies hold everything the backup uploaded again; gone.bin is empty.
  const expected = new Map<string, Map<string, Buffer>>();
  for (const id of [first!, second!]) {
    const files = new Map(d.content.get(id));
    files.set("sub/gone.bin", Buffer.alloc(0));
    expected.set(byId.get(id)!.newId!, files);
  }
  expected.set(fresh, await tree(src));
  await healed(d, expected);
  // Prune no longer fails for ever: two runs reclaim what the forgotten snapshots held.
  for (let i = 0; i < 2; i++) {
    const p = await f.run(["prune", "--grace", "0s"]);
    assert.equal(p.code, 0, p.stderr);
  }
  await healed(d, expected);
});

test("coffer heals in the order check, repair index, repair snapshots, backup (what was not uploaded again yet is cut)", async () => {
  const d = await damagedRepository();
  const { f, src } = d;
  await checkAdvises(d);
  assert.equal((await f.run(["repair", "index"])).code, 0);
  const rs = lastJson(await f.json(["repair", "snapshots", "--forget"])) as unknown as RepairJson;
  const [first, second] = [...d.content.keys()];
  const lostFiles = ["a.bin", "keep.txt", "sub/gone.bin"];
  const expected = new Map<string, Map<string, Buffer>>();
  for (const id of [first!, second!]) {
    const x = rs.damaged.find((y) => y.id === id)!;
    assert.deepEqual(
      x.paths.map((p) => p.path).sort(),
      lostFiles.map((p) => `${src}/${p}`),
    );
    const files = new Map(d.content.get(id));
    for (const p of lostFiles) files.set(p, Buffer.alloc(0));
    expected.set(x.newId!, files);
  }
  const b = lastJson(await f.json(["backup", src]));
  expected.set(String(b.snapshot_id), await tree(src));
  await healed(d, expected);
});

test("coffer repair: a missing or unknown verb is a one-line usage error; on an intact repository both verbs change nothing", async () => {
  const f = await cliFixture("coffer-cli-repair-usage-");
  fixtures.push(f);
  for (const args of [["repair"], ["repair", "packs"], ["repair", "index", "--forget"]]) {
    const r = await f.run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^coffer: repair/);
  }
  const src = join(f.dir, "src");
  await mkdir(src);
  await writeFile(join(src, "x"), "x\n");
  assert.equal((await f.run(["backup", src])).code, 0);
  const before = await ids(join(f.repo, "index"));
  const ri = await f.run(["repair", "index"]);
  assert.equal(ri.code, 0, ri.stderr);
  assert.match(ri.stdout.toString(), /^index is complete: \d+ packs, nothing to repair\n$/);
  const rs = await f.run(["repair", "snapshots", "--forget"]);
  assert.equal(rs.code, 0, rs.stderr);
  assert.equal(rs.stdout.toString(), "checked 1 snapshots: none is damaged\n");
  assert.deepEqual(await ids(join(f.repo, "index")), before);
});
