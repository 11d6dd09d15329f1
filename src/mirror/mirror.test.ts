import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { backup } from "../engine/backup/index.ts";
import { fxBytes } from "../engine/testing/check-fixture.ts";
import { testRepository } from "../engine/testing/fixtures.ts";
import { mirror } from "./mirror.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-mirror-"));
  dirs.push(d);
  return d;
}

/** `diff -r` plus modes and mtimes (via find -printf): empty when equal. */
function differences(a: string, b: string): string {
  let out = "";
  try {
    execFileSync("diff", ["-r", "--no-dereference", `${a}/`, `${b}/`], { stdio: "pipe" });
  } catch (err) {
    out += String((err as { stdout?: Buffer }).stdout ?? err);
  }
  const meta = (d: string): string =>
    execFileSync("find", [".", "-printf", "%p %y %m %T@ %l\n"], { cwd: d })
      .toString()
      .split("\n")
      .filter((l) => !l.startsWith(". "))
      .sort()
      .join("\n");
  if (meta(a) !== meta(b)) out += `metadata differs:\n${meta(a)}\n---\n${meta(b)}`;
  return out;
}

test("mirror() converges after adds, edits, deletes, renames and permission changes; an unchanged snapshot writes nothing; a 1% change writes about 1% of the bytes", async () => {
  const data = join(await tempDir(), "data");
  await mkdir(join(data, "sub"), { recursive: true });
  for (let i = 0; i < 20; i++)
    await writeFile(join(data, `f${String(i)}.bin`), fxBytes(256 * 1024, i));
  await writeFile(join(data, "sub", "a.txt"), "alpha\n");
  const repo = await testRepository({ seed: "mirror1" });
  const root = await tempDir();
  const snap = async () => {
    const b = await backup(repo, { paths: [data] });
    return { id: b.snapshotId, snapshot: b.snapshot };
  };
  const first = await mirror(repo, await snap(), root);
  assert.equal(first.filesWritten, 21);
  assert.equal(differences(data, join(root, data)), "");

  const same = await mirror(repo, await snap(), root);
  assert.equal(same.filesWritten + same.filesCopied, 0);
  assert.equal(same.bytesWritten, 0);

  // One file of 20 changes (~5% of the files, a 1% slice of the bytes is rewritten in it).
  const total = 20 * 256 * 1024;
  await writeFile(join(data, "f3.bin"), fxBytes(Math.floor(total / 100), 99));
  const small = await mirror(repo, await snap(), root);
  assert.equal(small.filesWritten, 1);
  assert.equal(small.bytesWritten, Math.floor(total / 100));
  assert.equal(differences(data, join(root, data)), "");

  await writeFile(join(data, "new.txt"), "new\n");
  await writeFile(join(data, "sub", "a.txt"), "alpha, edited\n");
  await unlink(join(data, "f0.bin"));
  await rename(join(data, "f1.bin"), join(data, "sub", "f1-renamed.bin"));
  await chmod(join(data, "f2.bin"), 0o600);
  await mkdir(join(data, "emptydir"));
  const r = await mirror(repo, await snap(), root);
  assert.equal(r.filesCopied, 1, "a permission change copies locally, never from the repository");
  assert.equal(differences(data, join(root, data)), "");
});

test("mirror() killed (SIGKILL) at many points leaves the previous mirror complete, and the next run completes", async () => {
  const data = join(await tempDir(), "data");
  await mkdir(data);
  for (let i = 0; i < 12; i++)
    await writeFile(join(data, `f${String(i)}.bin`), fxBytes(300 * 1024, i));
  const repoDir = join(await tempDir(), "repo");
  const { LocalStorage } = await import("../storage/local.ts");
  await testRepository({
    storage: new LocalStorage(repoDir),
    seed: "mirror2",
    password: "mirror password",
  });
  const env = { ...process.env, COFFER_PASSWORD: "mirror password" };
  const { cofferArgv } = await import("../cli/testing/run-coffer.ts");
  const run = (args: string[]) => execFileSync(process.execPath, cofferArgv(args), { env });
  run(["backup", "-q", "-r", repoDir, data]);
  const root = await tempDir();
  run(["mirror", "-q", "-r", repoDir, "--to", root]);
  const good = join(await tempDir(), "good");
  execFileSync("cp", ["-a", `${data}/.`, good]);
  for (let i = 0; i < 12; i++)
    await writeFile(join(data, `f${String(i)}.bin`), fxBytes(300 * 1024, 100 + i));
  run(["backup", "-q", "-r", repoDir, data]);
  const { spawn } = await import("node:child_process");
  // Kill after a growing number of written files: each time the mirror shows the previous snapshot.
  let killed = 0;
  for (let k = 1; k <= 6; k++) {
    const child = spawn(
      process.execPath,
      cofferArgv(["mirror", "-q", "-r", repoDir, "--to", root]),
      { env },
    );
    // Poll the number of entries of the generations being built; kill past a growing count.
    const entries = (): number => {
      try {
        return execFileSync("find", [join(root, ".coffer-mirror")])
          .toString()
          .split("\n").length;
      } catch {
        return 0;
      }
    };
    const base = entries();
    const timer = setInterval(() => {
      if (entries() >= base + k * 2) child.kill("SIGKILL");
    }, 5);
    const code = await new Promise<number | null>((res) =>
      child.on("close", (c) => {
        res(c);
      }),
    );
    clearInterval(timer);
    if (code === 0) break; // finished before the kill: the rest is covered by the final run
    killed++;
    assert.equal(differences(good, join(root, data)), "", `after kill ${String(k)}`);
  }
  assert.ok(killed > 0, "at least one run was killed mid-mirror");
  run(["mirror", "-q", "-r", repoDir, "--to", root]);
  assert.equal(differences(data, join(root, data)), "");
});
