import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCoffer } from "./testing/run-coffer.ts";

describe("coffer key recover (slow: real processes)", () => {
  let dir: string;
  let repo: string;
  let other: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-recover-"));
    repo = join(dir, "repo");
    other = join(dir, "other");
    assert.equal((await runCoffer(["init", "-r", repo], { COFFER_PASSWORD: "forgotten" })).code, 0);
    assert.equal(
      (await runCoffer(["init", "-r", other], { COFFER_PASSWORD: "other password" })).code,
      0,
    );
    await writeFile(join(dir, "data.txt"), "precious\n");
    const b = await runCoffer(["backup", "-r", repo, join(dir, "data.txt")], {
      COFFER_PASSWORD: "forgotten",
    });
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("key recover regains access from the paper export, without the old password", async () => {
    const paper = await runCoffer(["key", "export", "--paper", "-r", repo], {
      COFFER_PASSWORD: "forgotten",
    });
    assert.equal(paper.code, 0, paper.stderr);
    const paperFile = join(dir, "paper.txt");
    await writeFile(paperFile, paper.stdout);
    const pw = join(dir, "new-pw");
    await writeFile(pw, "brand new\n");
    const r = await runCoffer([
      "key",
      "recover",
      "-r",
      repo,
      "--master-key-file",
      paperFile,
      "--new-password-file",
      pw,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /recovered access/);
    const d = await runCoffer(["dump", "-r", repo, "latest", join(dir, "data.txt")], {
      COFFER_PASSWORD: "brand new",
    });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.toString(), "precious\n");
  });

  test("key recover refuses a key exported from another repository, in one line", async () => {
    const f = join(dir, "other-key.json");
    const e = await runCoffer(["key", "export", "-r", other, "--output", f], {
      COFFER_PASSWORD: "other password",
    });
    assert.equal(e.code, 0, e.stderr);
    const r = await runCoffer(["key", "recover", "-r", repo, "--master-key-file", f], {
      COFFER_NEW_PASSWORD: "x",
    });
    assert.equal(r.code, 12, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /does not belong|is for repository/);
  });

  test("key recover names a mistyped paper line", async () => {
    const paper = await runCoffer(["key", "export", "--paper", "-r", repo], {
      COFFER_PASSWORD: "brand new",
    });
    const lines = paper.stdout.toString().split("\n");
    const i = lines.findIndex((l) => l.startsWith("03  "));
    assert.ok(i >= 0, paper.stdout.toString());
    const line = lines[i] ?? "";
    lines[i] = line.slice(0, 4) + (line[4] === "0" ? "1" : "0") + line.slice(5);
    const f = join(dir, "typo.txt");
    await writeFile(f, lines.join("\n"));
    const r = await runCoffer(["key", "recover", "-r", repo, "--master-key-file", f], {
      COFFER_NEW_PASSWORD: "x",
    });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.ok((await readFile(f, "utf8")).length > 0);
  });
});
