import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { runCoffer } from "./testing/run-coffer.ts";
import { runCofferTty } from "./testing/run-coffer-tty.ts";

const PROMPT1 = /enter password for new repository: $/;
const PROMPT2 = /enter password again: $/;

describe("coffer on a terminal (slow: real processes on a pseudo-terminal)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-cli-tty-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("init asks for the password twice without echoing it, and refuses a mismatch", async () => {
    const bad = join(dir, "mismatch");
    const m = await runCofferTty(["init", "-r", bad], {}, [
      { prompt: PROMPT1, text: "first try" },
      { prompt: PROMPT2, text: "second try" },
    ]);
    assert.equal(m.code, 2, m.output);
    assert.match(m.output, /Passwords do not match/);
    assert.doesNotMatch(m.output, /first try|second try/);
    await assert.rejects(access(bad), "nothing is created on a mismatch");

    const repo = join(dir, "repo");
    const ok = await runCofferTty(["init", "-r", repo], {}, [
      { prompt: PROMPT1, text: "typed secret" },
      { prompt: PROMPT2, text: "typed secret" },
    ]);
    assert.equal(ok.code, 0, ok.output);
    assert.equal(ok.output.match(/enter password/g)?.length, 2);
    assert.doesNotMatch(ok.output, /typed secret/);
    assert.match(ok.output, /created coffer repository [0-9a-f]{10}/);
    assert.match(ok.output, /key export .*--paper/);

    // the typed password opens it, on a terminal (asked once) and from the environment
    const tty = await runCofferTty(["snapshots", "-r", repo], {}, [
      { prompt: /enter password for repository: $/, text: "typed secret" },
    ]);
    assert.equal(tty.code, 0, tty.output);
    const env = await runCoffer(["snapshots", "-r", repo], { COFFER_PASSWORD: "typed secret" });
    assert.equal(env.code, 0, env.stderr);
  });

  test("backup and restore draw a progress bar on a terminal: files, bytes, rate and ETA", async () => {
    const repo = join(dir, "progress-repo");
    const src = join(dir, "progress-src");
    await mkdir(src);
    for (let i = 0; i < 24; i++)
      await writeFile(join(src, `f${String(i)}`), pseudoRandomBytes(512 << 10, i + 1));
    const env = {
      COFFER_REPOSITORY: repo,
      COFFER_PASSWORD: "test password",
      COFFER_PROGRESS_FPS: "50",
    };
    assert.equal((await runCoffer(["init"], env)).code, 0);

    // "[0:01]  41.7% [========>           ] 10/24 files 5.0 MiB / 12.0 MiB 4.1 MiB/s ETA 0:02"
    const bar =
      /\r\x1b\[K\[\d+:\d\d\] +\d+\.\d% \[[=> ]{5,20}\] \d+\/24 files [\d.]+ (B|KiB|MiB) \/ 12\.0 MiB [\d.]+ (B|KiB|MiB)\/s ETA \d+:\d\d/;
    const b = await runCofferTty(["backup", src], env);
    assert.equal(b.code, 0, b.output);
    assert.match(b.output, bar, JSON.stringify(b.output.slice(0, 2000)));
    assert.match(b.output, /\r\x1b\[KFiles: +24 new/, "the bar is cleared before the summary");

    const r = await runCofferTty(["restore", "latest", "--target", join(dir, "restored")], env);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, bar, JSON.stringify(r.output.slice(0, 2000)));
    assert.match(r.output, /restored 24 files, 12\.000 MiB/);

    // not a terminal: no bar
    const piped = await runCoffer(["backup", src], env);
    assert.equal(piped.code, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, /\x1b\[K/);
  });

  test("dump refuses to write a directory's tar archive to a terminal; a file, or a pipe, is fine", async () => {
    const repo = join(dir, "dump-repo");
    const src = join(dir, "dump-src");
    await mkdir(src);
    await writeFile(join(src, "note.txt"), "hello terminal\n");
    const env = { COFFER_REPOSITORY: repo, COFFER_PASSWORD: "test password" };
    assert.equal((await runCoffer(["init"], env)).code, 0);
    assert.equal((await runCoffer(["backup", src, "-q"], env)).code, 0);
    const d = await runCofferTty(["dump", "latest", src], env);
    assert.equal(d.code, 2, d.output);
    assert.match(
      d.output,
      /it is a directory \(a tar archive\): refusing to write it to a terminal/,
    );
    assert.doesNotMatch(d.output, /ustar/);
    const f = await runCofferTty(["dump", "latest", join(src, "note.txt")], env);
    assert.equal(f.code, 0, f.output);
    assert.match(f.output, /hello terminal/);
    const piped = await runCoffer(["dump", "latest", src], env);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout.subarray(257, 262).toString(), /ustar/);
  });
});
