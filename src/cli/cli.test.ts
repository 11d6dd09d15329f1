import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, mkdir, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compareTrees, formatDifferences } from "../fsmeta/testing/compare-trees.ts";
import { makeTree } from "../fsmeta/testing/make-tree.ts";
import { runCoffer } from "./testing/run-coffer.ts";

describe("coffer CLI, end to end (slow: real processes)", () => {
  let dir: string;
  let repo: string;
  let src: string;
  const env = (): Record<string, string> => ({
    COFFER_PASSWORD: "correct horse",
    COFFER_REPOSITORY: repo,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-cli-"));
    repo = join(dir, "repo");
    src = join(dir, "src");
    await makeTree(src, {
      largeSize: 2 << 20,
      sparseSize: 16 << 20,
      specials: true,
      unreadable: false,
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("init prints the repository ID and the off-site reminder", async () => {
    const r = await runCoffer(["init", "-r", repo], { COFFER_PASSWORD: "correct horse" });
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /created coffer repository [0-9a-f]{10}/);
    assert.match(text, /off-site/);
    const again = await runCoffer(["init", "-r", repo], { COFFER_PASSWORD: "correct horse" });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already/i);
    assert.equal(again.stderr.trim().split("\n").length, 1);
  });

  test("a missing repository exits 10 and a wrong password exits 12, each with one line", async () => {
    const missing = await runCoffer(["snapshots", "-r", join(dir, "nope")], {
      COFFER_PASSWORD: "x",
    });
    assert.equal(missing.code, 10, missing.stderr);
    assert.equal(missing.stderr.trim().split("\n").length, 1);
    const wrong = await runCoffer(["snapshots"], { ...env(), COFFER_PASSWORD: "wrong" });
    assert.equal(wrong.code, 12, wrong.stderr);
    assert.match(wrong.stderr, /password/i);
    assert.equal(wrong.stderr.trim().split("\n").length, 1);
  });

  test("password comes from COFFER_PASSWORD_FILE and --password-command too", async () => {
    const pwFile = join(dir, "pw");
    await writeFile(pwFile, "correct horse\n");
    const a = await runCoffer(["snapshots", "--json"], {
      COFFER_REPOSITORY: repo,
      COFFER_PASSWORD_FILE: pwFile,
    });
    assert.equal(a.code, 0, a.stderr);
    const b = await runCoffer(
      ["snapshots", "--json", "--password-command", "echo 'correct horse'"],
      { COFFER_REPOSITORY: repo },
    );
    assert.equal(b.code, 0, b.stderr);
    const c = await runCoffer(["snapshots", "--password-command", "exit 3"], {
      COFFER_REPOSITORY: repo,
    });
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /Password command exited with status 3/);
  });

  test("backup, snapshots, ls, restore and check round-trip a rich tree bit-exactly", async () => {
    const b = await runCoffer(["backup", src, "--tag", "daily", "--json"], env());
    // sockets and FIFOs are skipped with a warning: exit 0 (skips are not read errors)
    assert.ok(b.code === 0 || b.code === 3, b.stderr);
    const summary = JSON.parse(b.stdout.toString().trim().split("\n").pop() ?? "{}") as {
      snapshot_id: string;
    };
    assert.match(summary.snapshot_id, /^[0-9a-f]{64}$/);

    const s = await runCoffer(["snapshots", "--json"], env());
    assert.equal(s.code, 0, s.stderr);
    const list = JSON.parse(s.stdout.toString()) as {
      id: string;
      tags: string[];
      paths: string[];
    }[];
    assert.equal(list.length, 1);
    const [first] = list;
    assert.ok(first);
    assert.deepEqual(first.tags, ["daily"]);
    assert.deepEqual(first.paths, [src]);

    const ls = await runCoffer(["ls", "latest"], env());
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stdout.includes(Buffer.from("large.bin")));

    const target = join(dir, "restored");
    const r = await runCoffer(
      ["restore", summary.snapshot_id.slice(0, 8), "--target", target],
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    const restoredRoot = join(target, src);
    const diffs = await compareTrees(src, restoredRoot, {
      ignore: (_p, e) => e.kind === "fifo" || e.kind === "socket",
    });
    assert.deepEqual(diffs, [], formatDifferences(diffs));

    const c = await runCoffer(["check", "--read-data"], env());
    assert.equal(c.code, 0, c.stderr + c.stdout.toString());
    assert.match(c.stdout.toString(), /no errors/);
  });

  test("an unchanged second backup finds its parent and reads nothing again", async () => {
    const b = await runCoffer(["backup", src, "--json"], env());
    assert.ok(b.code === 0 || b.code === 3, b.stderr);
    const summary = JSON.parse(b.stdout.toString().trim().split("\n").pop() ?? "{}") as Record<
      string,
      number
    >;
    assert.equal(summary.newFiles, 0);
    assert.equal(summary.changedFiles, 0);
    // No file content is read again. (Tree blobs may still change: the first backup's
    // reads moved atimes, which trees record.)
    assert.equal(summary.processedBytes, 0);
    assert.ok((summary.unchangedFiles ?? 0) > 0);
  });

  test("dump writes a file to stdout and a directory as a tar archive", async () => {
    const original = await readFile(join(src, "large.bin"));
    const f = await runCoffer(["dump", "latest", join(src, "large.bin")], env());
    assert.equal(f.code, 0, f.stderr);
    assert.ok(f.stdout.equals(original));
    const t = await runCoffer(["dump", "latest", src], env());
    assert.equal(t.code, 0, t.stderr);
    const tarFile = join(dir, "dump.tar");
    await writeFile(tarFile, t.stdout);
    const out = join(dir, "untar");
    await mkdir(out);
    execFileSync("tar", ["-xf", tarFile, "-C", out]);
    const entries = await readdir(out, { recursive: true });
    assert.ok(
      entries.some((e) => e.endsWith("large.bin")),
      entries.join(","),
    );
  });

  test("--stdin stores stdin; --stdin-from-command commits nothing when the command fails", async () => {
    const data = Buffer.from("hello from stdin\n".repeat(1000));
    const a = await runCoffer(
      ["backup", "--stdin", "--stdin-filename", "greeting.txt", "--json"],
      env(),
      data,
    );
    assert.equal(a.code, 0, a.stderr);
    const d = await runCoffer(["dump", "latest", "greeting.txt"], env());
    assert.ok(d.stdout.equals(data));

    const before = JSON.parse(
      (await runCoffer(["snapshots", "--json"], env())).stdout.toString(),
    ) as unknown[];
    const bad = await runCoffer(
      [
        "backup",
        "--stdin-from-command",
        "--",
        "sh",
        "-c",
        "echo partial; echo 'dump: connection refused' >&2; exit 7",
      ],
      env(),
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /connection refused|status 7|exit/i);
    const afterList = JSON.parse(
      (await runCoffer(["snapshots", "--json"], env())).stdout.toString(),
    ) as unknown[];
    assert.equal(afterList.length, before.length);

    const good = await runCoffer(
      [
        "backup",
        "--stdin-from-command",
        "--stdin-filename",
        "out.txt",
        "--",
        "sh",
        "-c",
        "echo ok",
      ],
      env(),
    );
    assert.equal(good.code, 0, good.stderr);
  });

  test("diff names what changed between two snapshots", async () => {
    await writeFile(join(src, "added.txt"), "new file");
    const b = await runCoffer(["backup", src], env());
    assert.ok(b.code === 0 || b.code === 3, b.stderr);
    const list = JSON.parse(
      (await runCoffer(["snapshots", "--json", "--path", src], env())).stdout.toString(),
    ) as { id: string }[];
    const [x, y] = list.slice(-2).map((s) => s.id);
    const d = await runCoffer(["diff", x ?? "", y ?? ""], env());
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout.toString(), /\+\s+.*added\.txt/);
  });

  test("key add, list, passwd, remove and export manage access", async () => {
    const pw2 = join(dir, "pw2");
    await writeFile(pw2, "second password\n");
    const add = await runCoffer(["key", "add", "--new-password-file", pw2], env());
    assert.equal(add.code, 0, add.stderr);
    const list = await runCoffer(["key", "list", "--json"], env());
    const keys = JSON.parse(list.stdout.toString()) as { id: string; current: boolean }[];
    assert.equal(keys.length, 2);
    const other = await runCoffer(["snapshots"], { ...env(), COFFER_PASSWORD: "second password" });
    assert.equal(other.code, 0, other.stderr);
    const current = keys.find((k) => k.current);
    const refused = await runCoffer(["key", "remove", current?.id ?? ""], env());
    assert.notEqual(refused.code, 0);
    const second = keys.find((k) => !k.current);
    const rm2 = await runCoffer(["key", "remove", second?.id ?? ""], env());
    assert.equal(rm2.code, 0, rm2.stderr);
    const gone = await runCoffer(["snapshots"], { ...env(), COFFER_PASSWORD: "second password" });
    assert.equal(gone.code, 12);

    const paper = await runCoffer(["key", "export", "--paper"], env());
    assert.equal(paper.code, 0, paper.stderr);
    assert.ok(paper.stdout.length > 64);
    const file = join(dir, "master.json");
    const exp = await runCoffer(["key", "export", "--output", file], env());
    assert.equal(exp.code, 0, exp.stderr);
    assert.ok((await readFile(file, "utf8")).length > 64);
  });

  test("bad usage exits 2 with a one-line error", async () => {
    const r = await runCoffer(["restore", "latest"], env());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--target/);
    const u = await runCoffer(["backup", "--no-such-flag"], env());
    assert.equal(u.code, 2);
    assert.equal(u.stderr.trim().split("\n").length, 1);
  });
});
