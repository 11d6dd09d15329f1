import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backupStream } from "../engine/backup/index.ts";
import { Repository } from "../engine/repository/index.ts";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { openStorage } from "../storage/open.ts";
import { cliFixture, lastJson, type CliFixture } from "./testing/cli-fixture.ts";

interface SnapshotJson {
  id: string;
  short_id: string;
  host: string;
  tags: string[];
  paths: string[];
}

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield b;
}

describe("coffer snapshots, ls, diff, dump and snapshot references (slow: real processes)", () => {
  let f: CliFixture;
  let src: string;
  let other: string;
  /** Snapshot IDs: a = first of src on web-1, b = second (changed), c = other path on db-1. */
  const ids: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

  before(async () => {
    f = await cliFixture("coffer-cli-browse-");
    src = join(f.dir, "www");
    other = join(f.dir, "etc");
    await mkdir(join(src, "site/img"), { recursive: true });
    await mkdir(other);
    await writeFile(join(src, "site/index.html"), "<h1>v1</h1>\n");
    await writeFile(join(src, "site/img/logo.png"), pseudoRandomBytes(70_000, 5));
    await writeFile(join(src, "gone.txt"), "will be removed\n");
    await writeFile(join(other, "hosts"), "127.0.0.1 localhost\n");
    const backup = async (args: string[]): Promise<string> =>
      String(lastJson(await f.json(["backup", ...args])).snapshot_id);
    ids.a = await backup([src, "--host", "web-1", "--tag", "daily"]);
    await writeFile(join(src, "site/index.html"), "<h1>v2, longer</h1>\n");
    await writeFile(join(src, "site/new.css"), "body{}\n");
    await rm(join(src, "gone.txt"));
    ids.b = await backup([src, "--host", "web-1", "--tag", "daily,manual"]);
    ids.c = await backup([other, "--host", "db-1", "--tag", "weekly"]);
  });
  after(async () => {
    await f.remove();
  });

  const listIds = async (...filter: string[]): Promise<string[]> =>
    ((await f.json(["snapshots", ...filter]))[0] as SnapshotJson[]).map((s) => s.id).sort();

  test("snapshots filters by --host, --tag (comma = AND, repeat = OR) and --path", async () => {
    assert.deepEqual(await listIds(), [ids.a, ids.b, ids.c].sort());
    assert.deepEqual(await listIds("--host", "web-1"), [ids.a, ids.b].sort());
    assert.deepEqual(await listIds("--tag", "manual"), [ids.b]);
    assert.deepEqual(await listIds("--tag", "daily,manual"), [ids.b]);
    assert.deepEqual(await listIds("--tag", "manual", "--tag", "weekly"), [ids.b, ids.c].sort());
    assert.deepEqual(await listIds("--path", other), [ids.c]);
    assert.deepEqual(await listIds("--host", "nobody"), []);
    const text = await f.run(["snapshots", "--host", "web-1"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.toString(), new RegExp(`${ids.a.slice(0, 8)}.*web-1.*daily`));
    assert.match(text.stdout.toString(), /2 snapshots/);
  });

  test("ls lists a sub-path of a snapshot; latest, prefixes and filters pick the snapshot", async () => {
    const ls = await f.run(["ls", ids.a.slice(0, 6), join(src, "site")]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.toString().trim().split("\n"), [
      join(src, "site"),
      join(src, "site/img"),
      join(src, "site/img/logo.png"),
      join(src, "site/index.html"),
    ]);
    const latest = await f.run(["ls", "latest", "--host", "web-1", join(src, "site")]);
    assert.equal(latest.code, 0, latest.stderr);
    assert.ok(latest.stdout.toString().includes(join(src, "site/new.css")));
    const long = await f.run(["ls", "--long", ids.c, other]);
    assert.match(
      long.stdout.toString(),
      /^-rw-r--r-- \S+ +\S+ +20 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*\/etc\/hosts$/m,
    );
    const missing = await f.run(["ls", ids.c, join(other, "nope")]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    assert.match(missing.stderr, /nope|Cannot find/);
  });

  test("diff names added, removed and modified paths between two snapshots", async () => {
    const d = await f.run(["diff", ids.a.slice(0, 8), ids.b.slice(0, 10)]);
    assert.equal(d.code, 0, d.stderr);
    const lines = d.stdout.toString().trim().split("\n");
    assert.ok(lines.includes(`+    ${join(src, "site/new.css")}`), lines.join("\n"));
    assert.ok(lines.includes(`-    ${join(src, "gone.txt")}`), lines.join("\n"));
    assert.ok(lines.includes(`M    ${join(src, "site/index.html")}`), lines.join("\n"));
    assert.ok(!lines.some((l) => l.includes("logo.png")), "unchanged files are not listed");
    const j = await f.json(["diff", ids.a, ids.b]);
    assert.deepEqual(lastJson(j), {
      message_type: "statistics",
      added: 1,
      removed: 1,
      modified: 1,
      type_changed: 0,
    });
  });

  test("dump writes a file to stdout and a directory as a tar archive; --target writes a file", async () => {
    const file = await f.run(["dump", ids.a.slice(0, 8), join(src, "site/img/logo.png")]);
    assert.equal(file.code, 0, file.stderr);
    assert.ok(file.stdout.equals(pseudoRandomBytes(70_000, 5)));
    const old = await f.run(["dump", ids.a, join(src, "site/index.html")]);
    assert.equal(old.stdout.toString(), "<h1>v1</h1>\n", "the old version from the old snapshot");

    const tar = await f.run(["dump", "latest", "--host", "web-1", join(src, "site")]);
    assert.equal(tar.code, 0, tar.stderr);
    const out = join(f.dir, "untar");
    await mkdir(out);
    execFileSync("tar", ["-xf", "-", "-C", out], { input: tar.stdout });
    assert.equal(await readFile(join(out, "index.html"), "utf8"), "<h1>v2, longer</h1>\n");
    assert.ok((await readFile(join(out, "img/logo.png"))).equals(pseudoRandomBytes(70_000, 5)));

    const target = join(f.dir, "hosts.copy");
    const j = lastJson(await f.json(["dump", ids.c, join(other, "hosts"), "--target", target]));
    assert.equal(j.bytes, 20);
    assert.equal(await readFile(target, "utf8"), "127.0.0.1 localhost\n");
    const noTarget = await f.run(["dump", ids.c, join(other, "hosts"), "--json"]);
    assert.equal(noTarget.code, 2, "--json without --target would put raw bytes on stdout");
  });

  test("an unknown snapshot and an ambiguous prefix are one-line errors naming the candidates", async () => {
    const unknown = await f.run(["ls", "ffffffffff"]);
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr.trim(),
      "coffer: Cannot find snapshot ffffffffff: no such snapshot",
    );

    // make snapshots (in-process, quickly) until two IDs share their first hex digit
    const repo = await Repository.open(await openStorage(f.repo), f.password);
    const all = new Set([ids.a, ids.b, ids.c]);
    let prefix: string | undefined;
    for (let i = 0; prefix === undefined && i < 20; i++) {
      const r = await backupStream(repo, {
        source: once(Buffer.from(`n${String(i)}`)),
        filename: "n",
        host: "fill",
      });
      prefix = [...all].find((id) => id[0] === r.snapshotId[0])?.[0];
      all.add(r.snapshotId);
    }
    assert.ok(prefix !== undefined);
    const amb = await f.run(["restore", prefix, "--target", join(f.dir, "never")]);
    assert.equal(amb.code, 1);
    assert.equal(amb.stderr.trim().split("\n").length, 1, amb.stderr);
    assert.match(
      amb.stderr,
      new RegExp(
        `Cannot find snapshot ${prefix}: ambiguous ID \\(${prefix}[0-9a-f]{7}, ${prefix}[0-9a-f]{7}`,
      ),
    );
    for (const cmd of [["ls"], ["dump", "x"], ["diff", "latest"]]) {
      const r = await f.run([cmd[0] ?? "", prefix, ...cmd.slice(1)]);
      assert.equal(r.code, 1, `${cmd.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /ambiguous ID/);
    }
  });
});
