// Issue 10 behind a real coffer gateway (S3, client credentials): a DELETE is only a pending
// deletion, so repair index supersedes the old index objects and repair snapshots --forget
// files pending deletions; the repository still heals.
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pseudoRandomBytes } from "../fsmeta/testing/make-tree.ts";
import { startGatewayProcess } from "../server/integration/testing/gateway-process.ts";
import { jsonLines, runCoffer, type CofferRun } from "./testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
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

test("behind a coffer gateway: repair index supersedes, repair snapshots --forget files pending deletions, check --read-data is clean (slow: real processes)", async () => {
  const gw = await startGatewayProcess({ fromSource: true });
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-repair-gw-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  const a = pseudoRandomBytes(200_000, 1);
  await writeFile(join(src, "a.bin"), a);
  const creds = await gw.addSource("web-01");
  const env = {
    COFFER_PASSWORD: "correct horse battery",
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    COFFER_CACHE_DIR: join(dir, "cache"),
  };
  const coffer = (args: string[]): Promise<CofferRun> =>
    runCoffer([...args, "-r", creds.repository], env);
  const ok = async (args: string[]): Promise<string> => {
    const r = await coffer(args);
    assert.equal(r.code, 0, `coffer ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.toString();
  };
  const bucketDir = join(gw.objectPath(creds.bucket, "x"), "..");
  const list = async (prefix: string): Promise<string[]> =>
    (await readdir(join(bucketDir, prefix), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  await ok(["init"]);
  const snap = async (): Promise<string> =>
    (jsonLines(await ok(["backup", src, "--json"])).at(-1) as { snapshot_id: string }).snapshot_id;
  await snap();
  const indexAfterFirst = await list("index");
  await writeFile(join(src, "b.bin"), pseudoRandomBytes(30_000, 3));
  await snap();
  const badIndex = (await list("index")).find((i) => !indexAfterFirst.includes(i))!;
  await writeFile(join(src, "c.bin"), pseudoRandomBytes(30_000, 4));
  const third = await snap();
  // Bits flip on the gateway's disk: one index object and one snapshot object. (A pack lost
  // from the gateway's disk stays listed from its ledger and a GET answers 500: that is the
  // gateway's to detect; a pack its GC destroyed is in gateway/unavailable-packs.json.)
  await flipByte(gw.objectPath(creds.bucket, `index/${badIndex}`));
  await flipByte(gw.objectPath(creds.bucket, `snapshots/${third}`));

  // Normal commands carry on (the local cache even holds intact copies); check reads storage.
  await ok(["snapshots"]);
  const c = await coffer(["check"]);
  assert.equal(c.code, 1, c.stderr);
  assert.match(
    c.stdout.toString(),
    /1\. coffer repair index\n.*\n {2}2\. coffer repair snapshots --forget\n/,
  );

  const ri = await ok(["repair", "index"]);
  assert.match(ri, /\(0 deleted, 3 pending deletion at the gateway, superseded meanwhile\)/);
  assert.ok((await list("index")).includes(badIndex), "the damaged index stays listed, pending");
  const rs = jsonLines(await ok(["repair", "snapshots", "--forget", "--json"])).at(-1) as {
    damaged: { id: string; lost?: string; forgotten?: { state: string } }[];
  };
  assert.deepEqual(
    rs.damaged.map((d) => [d.id, d.forgotten?.state]),
    [[third, "pending"]],
  );
  const deletions = gw.deletions(creds.bucket).map((d) => d.key);
  assert.ok(deletions.includes(`index/${badIndex}`));
  assert.ok(deletions.includes(`snapshots/${third}`));
  // The next backup and restore work as before.
  await snap();

  const final = await coffer(["check", "--read-data"]);
  assert.equal(final.code, 0, final.stdout.toString() + final.stderr);
  assert.match(final.stdout.toString(), /no errors were found\n$/);
  const target = join(dir, "restore");
  await ok(["restore", "latest", "--target", target]);
  assert.deepEqual(await readFile(join(target, src, "a.bin")), a);
});
