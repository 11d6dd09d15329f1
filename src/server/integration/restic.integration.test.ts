import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assertPendingDeletion, assertUntouched, seedObject } from "./testing/checks.ts";
import {
  BIG_FILE_BYTES,
  run,
  sha256File,
  startGatewayProcess,
  writeBigFile,
  type GatewayProcess,
  type SourceCreds,
} from "./testing/gateway-process.ts";

// restic writes packs of a few MiB (never a 64 MiB object), so its multipart path is not
// reached; the >64 MiB file here is backed up and restored through many packs.
describe("restic (s3 backend, path style, locks/ allow-listed) against a coffer-server process (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let b: SourceCreds;
  let dir: string;
  let bigSha: string;
  let seeded: { key: string; sha: string };
  const restic = (c: SourceCreds, bucket: string, args: string[]) =>
    run(
      "restic",
      ["--no-cache", ...args],
      {
        RESTIC_REPOSITORY: `s3:${gw.endpoint}/${bucket}`,
        RESTIC_PASSWORD: "correct horse battery staple",
        AWS_ACCESS_KEY_ID: c.accessKeyId,
        AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      },
      { home: dir },
    );
  const ok = async (args: string[]): Promise<string> => {
    const r = await restic(a, a.bucket, args);
    assert.equal(r.code, 0, `restic ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const locks = (): string[] =>
    gw
      .query<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND key LIKE 'locks/%'",
        a.bucket,
      )
      .map((r) => r.key);

  before(async () => {
    gw = await startGatewayProcess();
    a = await gw.addSource("restic-a");
    b = await gw.addSource("restic-b");
    dir = mkdtempSync(join(tmpdir(), "coffer-restic-"));
    mkdirSync(join(dir, "src/docs"), { recursive: true });
    writeFileSync(join(dir, "src/docs/readme.txt"), "restic through coffer-server\n");
    bigSha = await writeBigFile(join(dir, "src/big.bin"), BIG_FILE_BYTES, 31);
    seeded = await seedObject(gw, b);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("init, backup, snapshots, restore (byte-identical), check and check --read-data; locks are removed at once", async () => {
    await ok(["init"]);
    await ok(["backup", "--host", "web-01", join(dir, "src")]);
    assert.deepEqual(locks(), [], "restic's lock should be destroyed at once (scratch prefix)");
    const snaps = JSON.parse(await ok(["snapshots", "--json"])) as {
      short_id: string;
      hostname: string;
    }[];
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0]!.hostname, "web-01");
    await ok(["restore", "latest", "--target", join(dir, "restored")]);
    // restic 0.14 restores below the target with the absolute path; newer ones too.
    const base = join(dir, "restored", dir, "src");
    assert.equal(await sha256File(join(base, "big.bin")), bigSha);
    assert.equal(
      readFileSync(join(base, "docs/readme.txt"), "utf8"),
      "restic through coffer-server\n",
    );
    assert.match(await ok(["check"]), /no errors were found/);
    assert.match(await ok(["check", "--read-data"]), /no errors were found/);
    assert.deepEqual(locks(), []);
    // A second backup works too (restic takes and drops its lock again).
    writeFileSync(join(dir, "src/docs/new.txt"), "second run\n");
    await ok(["backup", "--host", "web-01", join(dir, "src")]);
    assert.equal((JSON.parse(await ok(["snapshots", "--json"])) as unknown[]).length, 2);
  });

  test("forget is made pending: the snapshot file stays, is still listed, and the repository still checks", async () => {
    const snaps = JSON.parse(await ok(["snapshots", "--json"])) as { id: string }[];
    const first = snaps[0]!.id;
    const sha = gw.object(a.bucket, `snapshots/${first}`)?.sha256;
    assert.ok(sha !== undefined);
    await ok(["forget", first]);
    assertPendingDeletion(gw, a, `snapshots/${first}`, sha);
    assert.equal((JSON.parse(await ok(["snapshots", "--json"])) as unknown[]).length, 2);
    assert.match(await ok(["check"]), /no errors were found/);
    assert.deepEqual(locks(), []);
  });

  test("source A's credentials cannot open, init, back up into or forget in B's bucket", async () => {
    for (const args of [
      ["snapshots"],
      ["init"],
      ["backup", join(dir, "src/docs")],
      ["unlock", "--remove-all"],
    ]) {
      const r = await restic(a, b.bucket, args);
      assert.notEqual(r.code, 0, `restic ${args.join(" ")} on B should fail: ${r.stdout}`);
      assert.match(r.stderr, /Access Denied|AccessDenied|403/, r.stderr);
    }
    assertUntouched(gw, b, seeded);
  });
});

// A repository under a prefix (`s3:…/bucket/restic`): its `restic/locks/` are scratch too, so
// restic removes its own locks and check/prune see none left over.
describe("restic with a repository under a prefix against a coffer-server process (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let dir: string;
  const restic = (args: string[]) =>
    run(
      "restic",
      ["--no-cache", ...args],
      {
        RESTIC_REPOSITORY: `s3:${gw.endpoint}/${a.bucket}/restic`,
        RESTIC_PASSWORD: "correct horse battery staple",
        AWS_ACCESS_KEY_ID: a.accessKeyId,
        AWS_SECRET_ACCESS_KEY: a.secretAccessKey,
      },
      { home: dir },
    );
  const ok = async (args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const r = await restic(args);
    assert.equal(r.code, 0, `restic ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const locks = (): string[] =>
    gw
      .query<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND key LIKE 'restic/locks/%'",
        a.bucket,
      )
      .map((r) => r.key);

  before(async () => {
    gw = await startGatewayProcess({ fromSource: true });
    a = await gw.addSource("restic-prefix");
    dir = mkdtempSync(join(tmpdir(), "coffer-restic-prefix-"));
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/a.txt"), "first\n");
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("init, backup, check, forget and prune leave no lock behind and report none stale", async () => {
    await ok(["init"]);
    assert.ok(gw.object(a.bucket, "restic/config") !== undefined);
    await ok(["backup", "--host", "web-01", join(dir, "src")]);
    assert.deepEqual(locks(), []);
    writeFileSync(join(dir, "src/b.txt"), "second\n");
    await ok(["backup", "--host", "web-01", join(dir, "src")]);
    assert.deepEqual(locks(), []);
    const check = await ok(["check"]);
    assert.match(check.stdout, /no errors were found/);
    assert.doesNotMatch(
      check.stdout + check.stderr,
      /stale|already locked|unable to (remove|refresh)/i,
    );
    const snaps = JSON.parse((await ok(["snapshots", "--json"])).stdout) as { id: string }[];
    await ok(["forget", snaps[0]!.id]);
    const prune = await ok(["prune"]);
    assert.doesNotMatch(
      prune.stdout + prune.stderr,
      /stale|already locked|unable to (remove|refresh)/i,
    );
    assert.deepEqual(locks(), []);
    const again = await ok(["check"]);
    assert.doesNotMatch(
      again.stdout + again.stderr,
      /stale|already locked|unable to (remove|refresh)/i,
    );
    // Deleting a snapshot file is still only a request.
    assert.equal(gw.deletions(a.bucket, `restic/snapshots/${snaps[0]!.id}`)[0]?.state, "PENDING");
  });

  test("a source in a non-default region: restic signs for eu-west-3 and works", async () => {
    const paris = await gw.addSource("restic-paris", { region: "eu-west-3" });
    const env = {
      RESTIC_REPOSITORY: `s3:${gw.endpoint}/${paris.bucket}/restic`,
      RESTIC_PASSWORD: "pw",
      AWS_ACCESS_KEY_ID: paris.accessKeyId,
      AWS_SECRET_ACCESS_KEY: paris.secretAccessKey,
    };
    for (const args of [["init"], ["backup", join(dir, "src")], ["check"]]) {
      const r = await run("restic", ["--no-cache", "-o", "s3.region=eu-west-3", ...args], env, {
        home: dir,
      });
      assert.equal(r.code, 0, `restic ${args.join(" ")}: ${r.stderr}`);
    }
  });
});
