import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface SnapshotJson {
  id: string;
  short_id: string;
  deletion?: { state: string; execute_after: string };
}

interface DeletionJson {
  id: number;
  key: string;
  reason: string;
  executeAfter: string;
  state: string;
}

test("forget behind a coffer gateway files a pending deletion: snapshots shows it with its date, the data stays, and the operator's cancel brings it back (slow: real processes)", async () => {
  const gw = await startGatewayProcess({ fromSource: true });
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-forget-gw-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  await writeFile(join(src, "a.txt"), "first version");
  const a = await gw.addSource("web-01");
  const env = {
    COFFER_PASSWORD: "test password",
    AWS_ACCESS_KEY_ID: a.accessKeyId,
    AWS_SECRET_ACCESS_KEY: a.secretAccessKey,
  };
  const coffer = (args: string[]) => runCoffer([...args, "-r", a.repository], env);
  const snapshots = async (): Promise<SnapshotJson[]> => {
    const r = await coffer(["snapshots", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.toString()) as SnapshotJson[];
  };
  assert.equal((await coffer(["init"])).code, 0);
  assert.equal((await coffer(["backup", src, "-q"])).code, 0);
  await writeFile(join(src, "a.txt"), "second version");
  assert.equal((await coffer(["backup", src, "-q"])).code, 0);
  const [first, second] = await snapshots();
  assert.ok(first !== undefined && second !== undefined);
  const packs = JSON.parse(
    gw.query<{ packs: string }>("SELECT packs FROM manifests WHERE snapshot_id = ?", first.id)[0]
      ?.packs ?? "[]",
  ) as string[];
  assert.ok(packs.length > 0);

  const requested = Date.now();
  const f = await coffer(["forget", first.short_id]);
  assert.equal(f.code, 0, f.stderr);
  const m =
    /^snapshot ([0-9a-f]{8}): deletion pending at the gateway, executes after (\S+) \(cancellable by the operator\)\n$/.exec(
      f.stdout.toString(),
    );
  assert.ok(m, f.stdout.toString());
  assert.equal(m[1], first.short_id);
  const executeAfter = Date.parse(m[2] ?? "");
  const fourteenDays = 14 * 86_400_000;
  assert.ok(
    executeAfter >= requested + fourteenDays - 1000 && executeAfter <= Date.now() + fourteenDays,
    m[2],
  );

  // Listed as pending, with its date, in JSON and in the table; nothing is gone yet.
  const pending = await snapshots();
  assert.deepEqual(
    pending.map((s) => [s.id, s.deletion?.state]),
    [
      [first.id, "pending"],
      [second.id, undefined],
    ],
  );
  assert.equal(Date.parse(pending[0]?.deletion?.execute_after ?? ""), executeAfter);
  const table = await coffer(["snapshots"]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.toString().split("\n");
  assert.match(lines[0] ?? "", /^ID\s+Time\s+Host\s+Tags\s+Paths\s+Deletion$/);
  const when = new Date(executeAfter).toISOString().replace("T", " ").slice(0, 16);
  assert.match(
    lines.find((l) => l.startsWith(first.short_id)) ?? "",
    new RegExp(`  pending, executes ${when}$`),
  );
  assert.doesNotMatch(lines.find((l) => l.startsWith(second.short_id)) ?? "", /pending/);
  assert.ok(existsSync(gw.objectPath(a.bucket, `snapshots/${first.id}`)));
  for (const p of packs)
    assert.ok(existsSync(gw.objectPath(a.bucket, `data/${p.slice(0, 2)}/${p}`)));
  const restore = await coffer(["restore", first.id, "--target", join(dir, "out")]);
  assert.equal(restore.code, 0, restore.stderr);

  // A policy run leaves the pending snapshot alone; --prune is skipped (the gateway's GC does it).
  const again = await coffer(["forget", "--keep-last", "1", "--prune"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout.toString(),
    new RegExp(`keep 1, forget 0\\n  keep   ${second.short_id}`),
  );
  assert.match(again.stderr, /--prune skipped: the gateway reclaims space itself/);

  // The operator cancels the snapshot's deletion (its manifest's is cancelled with it).
  const listed = await gw.admin(["deletions", "list", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as DeletionJson[];
  assert.deepEqual(rows.map((d) => [d.key.split("/")[0], d.reason, d.state]).sort(), [
    ["manifests", "user", "PENDING"],
    ["snapshots", "user", "PENDING"],
  ]);
  const snapDeletion = rows.find((d) => d.key === `snapshots/${first.id}`);
  assert.ok(snapDeletion !== undefined);
  assert.equal(Date.parse(snapDeletion.executeAfter), Math.floor(executeAfter / 1000) * 1000);
  const human = await gw.admin(["deletions", "list"]);
  const [header, ...rowLines] = human.stdout.trim().split("\n");
  assert.match(header ?? "", /^ *ID +STATE +SOURCE +REASON +EXECUTES AFTER +KEY$/);
  assert.equal(rowLines.length, 2, human.stdout);
  const cancel = await gw.admin(["deletions", "cancel", String(snapDeletion.id)]);
  assert.equal(cancel.code, 0, cancel.stderr);
  // The snapshot's deletion and its manifest's, both counted and named.
  assert.match(
    cancel.stdout,
    /^Cancelled 2 deletions: \d+ \(snapshots\/[0-9a-f]{64}\), \d+ \(manifests\/[0-9a-f]{64}\)\.$/m,
  );
  const afterCancel = await gw.admin(["deletions", "list", "--json"]);
  assert.deepEqual(JSON.parse(afterCancel.stdout), []);
  assert.deepEqual(
    (await snapshots()).map((s) => [s.id, s.deletion]),
    [
      [first.id, undefined],
      [second.id, undefined],
    ],
  );
  const table2 = await coffer(["snapshots"]);
  assert.doesNotMatch(table2.stdout.toString(), /pending/);
});
