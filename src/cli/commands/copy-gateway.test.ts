import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fxBytes } from "../../engine/testing/check-fixture.ts";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer, spawnCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface CopySummary {
  snapshots: { source: string; destination: string; copied: boolean }[];
  snapshots_copied: number;
  snapshots_skipped: number;
  blobs_added: number;
  bytes_added: number;
}

async function sha(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

const FILES = ["big.bin", "sub/mid.bin", "small.txt"];

test("coffer copy between a local repository and a gateway, both ways: DEST's manifests, bit-exact restores, check --read-data clean, a second copy uploads nothing (slow: real processes)", async () => {
  const gw = await startGatewayProcess({ fromSource: true });
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-copy-gw-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, "data");
  await mkdir(join(data, "sub"), { recursive: true });
  await writeFile(join(data, "big.bin"), fxBytes(5 * 1024 * 1024 + 3, 11));
  await writeFile(join(data, "sub", "mid.bin"), fxBytes(700 * 1024, 12));
  await writeFile(join(data, "small.txt"), "first\n");
  const local = join(dir, "local");
  const back = join(dir, "back");
  const pwFile = join(dir, "gw-password");
  await writeFile(pwFile, "gateway password\n");
  const a = await gw.addSource("web-01");
  const s3 = { AWS_ACCESS_KEY_ID: a.accessKeyId, AWS_SECRET_ACCESS_KEY: a.secretAccessKey };
  const ok = async (args: string[], env: Record<string, string>): Promise<string> => {
    const r = await runCoffer(args, env);
    assert.equal(r.code, 0, `coffer ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.toString();
  };
  const localEnv = { COFFER_PASSWORD: "local password" };
  await ok(["init", "-r", local], localEnv);
  await ok(["backup", "-q", "-r", local, data], localEnv);
  await writeFile(join(data, "small.txt"), "second\n");
  await ok(["backup", "-q", "-r", local, data], localEnv);
  const want = new Map<string, string>();
  for (const f of FILES) want.set(f, await sha(join(data, f)));
  await ok(["init", "-r", a.repository], { ...s3, COFFER_PASSWORD: "gateway password" });

  // local → gateway, the source's password from COFFER_FROM_PASSWORD.
  const toGw = [
    "copy",
    "--json",
    "-r",
    a.repository,
    "--from-repo",
    local,
    "--password-file",
    pwFile,
  ];
  const fromLocal = { ...s3, COFFER_FROM_PASSWORD: "local password" };
  const first = JSON.parse(await ok(toGw, fromLocal)) as CopySummary;
  assert.equal(first.snapshots_copied, 2);
  const rows = gw.query<{ snapshot_id: string }>(
    "SELECT snapshot_id FROM manifests WHERE bucket = ? ORDER BY snapshot_id",
    a.bucket,
  );
  assert.deepEqual(
    rows.map((r) => r.snapshot_id),
    first.snapshots.map((s) => s.destination).sort(),
    "the gateway holds DEST's own manifest of every copied snapshot",
  );
  const objects = (): number =>
    gw.query<{ n: number }>("SELECT count(*) AS n FROM objects WHERE bucket = ?", a.bucket)[0]?.n ??
    -1;
  const before = objects();
  const second = JSON.parse(await ok(toGw, fromLocal)) as CopySummary;
  assert.equal(second.snapshots_copied, 0);
  assert.equal(second.snapshots_skipped, 2);
  assert.equal(second.blobs_added, 0);
  assert.equal(objects(), before, "a second copy uploads nothing");

  const gwEnv = { ...s3, COFFER_PASSWORD: "gateway password" };
  const restored = join(dir, "restored-gw");
  await ok(["restore", "-q", "-r", a.repository, "latest", "--target", restored], gwEnv);
  for (const f of FILES) assert.equal(await sha(join(restored, data, f)), want.get(f), f);
  await ok(["check", "--read-data", "-q", "-r", a.repository], gwEnv);

  // gateway → local, the source's password from --from-password-file.
  const backEnv = { ...s3, COFFER_PASSWORD: "back password" };
  await ok(["init", "-r", back], backEnv);
  const fromGw = [
    "copy",
    "--json",
    "-r",
    back,
    "--from-repo",
    a.repository,
    "--from-password-file",
    pwFile,
  ];
  const third = JSON.parse(await ok(fromGw, backEnv)) as CopySummary;
  assert.equal(third.snapshots_copied, 2);
  const fourth = JSON.parse(await ok(fromGw, backEnv)) as CopySummary;
  assert.equal(fourth.snapshots_copied, 0);
  assert.equal(fourth.blobs_added, 0);
  const restoredBack = join(dir, "restored-back");
  await ok(["restore", "-q", "-r", back, "latest", "--target", restoredBack], backEnv);
  for (const f of FILES) assert.equal(await sha(join(restoredBack, data, f)), want.get(f), f);
  await ok(["check", "--read-data", "-q", "-r", back], backEnv);

  // A wrong source password is refused as such (exit 12), naming the source.
  const wrong = await runCoffer(fromGw.slice(0, -2), {
    ...backEnv,
    COFFER_FROM_PASSWORD: "nope nope",
  });
  assert.equal(wrong.code, 12, wrong.stderr);
  assert.match(
    wrong.stderr,
    /"message":"source repository: Cannot open repository at s3:[^"]*wrong password/,
  );
});

test("coffer copy killed (SIGKILL) once it committed its first snapshot: the next run completes and the destination checks clean (slow: real processes)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-copy-kill-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, "data");
  await mkdir(data);
  const src = join(dir, "src");
  const dst = join(dir, "dst");
  const env = { COFFER_PASSWORD: "source password" };
  assert.equal((await runCoffer(["init", "-q", "-r", src], env)).code, 0);
  for (let i = 0; i < 3; i++) {
    await writeFile(join(data, `f${String(i)}.bin`), fxBytes(4 * 1024 * 1024, 20 + i));
    assert.equal((await runCoffer(["backup", "-q", "-r", src, data], env)).code, 0);
  }
  const denv = { COFFER_PASSWORD: "dest password", COFFER_FROM_PASSWORD: "source password" };
  assert.equal((await runCoffer(["init", "-q", "-r", dst], denv)).code, 0);
  const { child, done } = spawnCoffer(["copy", "-r", dst, "--from-repo", src], denv);
  let err = "";
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString();
    if (/copied to/.test(err)) child.kill("SIGKILL");
  });
  const killed = await done;
  assert.equal(killed.signal, "SIGKILL", killed.stderr);
  const rerun = await runCoffer(["copy", "--json", "-r", dst, "--from-repo", src], denv);
  assert.equal(rerun.code, 0, rerun.stderr);
  const summary = JSON.parse(rerun.stdout.toString()) as CopySummary;
  assert.equal(summary.snapshots.length, 3);
  assert.ok(
    summary.snapshots_skipped >= 1,
    "the snapshot committed before the kill is not copied again",
  );
  const chk = await runCoffer(["check", "--read-data", "-r", dst], {
    COFFER_PASSWORD: "dest password",
  });
  assert.equal(chk.code, 0, chk.stdout.toString() + chk.stderr);
  const snaps = await runCoffer(["snapshots", "--json", "-r", dst], {
    COFFER_PASSWORD: "dest password",
  });
  assert.equal((JSON.parse(snaps.stdout.toString()) as unknown[]).length, 3);
});
