import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeIndex } from "../../format/index-file.ts";
import { listDeletions } from "../deletions/workflow.ts";
import { startTestGateway, xmlField } from "../testing/harness.ts";
import { runGc } from "./run-gc.ts";
import {
  DAY,
  filedIndexes,
  indexOf,
  keysUnder,
  maintainAt,
  master,
  packKey,
  put,
  putIndex,
  putLegacyIndex,
  putPack,
  putSnapshot,
} from "./testing.ts";

test("runGc() collects an index object once all its packs are destroyed, after the delay", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const T0 = Date.now();
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const [p1, p2, p3] = [
      await putPack(gw, c, "1"),
      await putPack(gw, c, "2"),
      await putPack(gw, c, "3"),
    ];
    await putSnapshot(gw, c, "live", [p3]);
    const i12 = await putIndex(gw, c, [p1, p2]);
    const i23 = await putIndex(gw, c, [p2, p3]); // one live pack: kept
    const legacy = await putLegacyIndex(gw, c, [p1]); // no list: never collected
    const empty = await putIndex(gw, c, []); // names nothing: never collected
    // p1, p2 become PENDING(gc); an index naming pending packs is not garbage yet.
    const r1 = await maintainAt(gw, T0 + 2 * DAY);
    assert.deepEqual(r1.gc[0]?.filed.sort(), [p1, p2].sort());
    assert.deepEqual(filedIndexes(r1), []);
    // The packs are destroyed at T0+16d (GC runs before the executor in a pass) ...
    const r2 = await maintainAt(gw, T0 + 16 * DAY + 1000);
    assert.deepEqual(
      r2.executor.executed.map((x) => x.key).sort(),
      [packKey(p1), packKey(p2)].sort(),
    );
    assert.deepEqual(filedIndexes(r2), []);
    // ... and the next pass files the index whose packs are all gone, through the workflow.
    const r3 = await maintainAt(gw, T0 + 17 * DAY);
    assert.deepEqual(filedIndexes(r3), [i12]);
    const d = (await listDeletions(md.db, { state: "PENDING" })).find((x) => x.key === i12);
    assert.ok(d !== undefined);
    assert.deepEqual([d.reason, d.requestedBy, d.executeAfter], ["gc", "gc", T0 + 31 * DAY]);
    const pending = JSON.parse(
      (
        await gw.signed(c, { method: "GET", path: `/${c.bucket}/gateway/pending-deletions.json` })
      ).body.toString(),
    ) as { deletions: { key: string; reason: string }[] };
    assert.ok(pending.deletions.some((x) => x.key === i12 && x.reason === "gc"));
    // Idempotent, and not executed before the delay.
    const r4 = await maintainAt(gw, T0 + 31 * DAY - 1);
    assert.deepEqual([filedIndexes(r4), r4.executor.executed], [[], []]);
    assert.ok((await keysUnder(gw, c.bucket, "index/")).includes(i12));
    const r5 = await maintainAt(gw, T0 + 31 * DAY);
    assert.deepEqual(
      r5.executor.executed.map((x) => x.key),
      [i12],
    );
    assert.deepEqual(await keysUnder(gw, c.bucket, "index/"), [i23, legacy, empty].sort());
    assert.equal((await gw.signed(c, { method: "GET", path: `/${c.bucket}/${i12}` })).status, 404);
    assert.deepEqual(await keysUnder(gw, c.bucket, "data/"), [packKey(p3)]);
    // Nothing more is ever filed; the next pass drops its records.
    assert.deepEqual(filedIndexes(await maintainAt(gw, T0 + 60 * DAY)), []);
    assert.deepEqual(await md.db.all("SELECT * FROM index_packs WHERE index_key = ?", [i12]), []);
    assert.deepEqual(await md.db.all("SELECT * FROM index_objects WHERE key = ?", [i12]), []);
  } finally {
    await gw.close();
  }
});

test("runGc() revives a pending index deletion when one of its packs comes back", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const T0 = Date.now();
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const p1 = await putPack(gw, c, "1");
    const p2 = await putPack(gw, c, "2");
    const i1 = await putIndex(gw, c, [p1]);
    const i2 = await putIndex(gw, c, [p2]);
    await maintainAt(gw, T0 + 2 * DAY);
    await maintainAt(gw, T0 + 16 * DAY + 1000);
    assert.deepEqual(filedIndexes(await maintainAt(gw, T0 + 17 * DAY)), [i1, i2].sort());
    const state = async (key: string): Promise<string | undefined> =>
      (await listDeletions(md.db)).filter((x) => x.key === key).at(-1)?.state;
    // p1 is uploaded again (a client rewrote the same bytes): its PUT revives i1 at once.
    await putPack(gw, c, "1");
    assert.equal(await state(i1), "CANCELLED");
    // p2 comes back behind the PUT path (as after a crash between commit and revival): the
    // next GC pass revives i2.
    const tmp = mkdtempSync(join(tmpdir(), "coffer-idx-"));
    try {
      const f = join(tmp, "p2");
      writeFileSync(f, "pack 2");
      await gw.running.gateway.deps.objects.commit(
        { bucket: c.bucket, key: packKey(p2), path: f, size: 6, sha256: p2, etag: "0".repeat(32) },
        { ifNoneMatch: false, by: "test", now: T0 + 18 * DAY },
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const r = await maintainAt(gw, T0 + 18 * DAY);
    assert.deepEqual(r.gc[0]?.indexes?.revived, [i2]);
    assert.equal(await state(i2), "CANCELLED");
    assert.deepEqual(await keysUnder(gw, c.bucket, "index/"), [i1, i2].sort());
  } finally {
    await gw.close();
  }
});

test("runGc() backfills the pack list of index objects stored before schema version 4", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const storage = gw.running.gateway.deps.objects.storage;
    const p1 = await putPack(gw, c, "1");
    const p2 = await putPack(gw, c, "2");
    const listed = await putIndex(gw, c, [p2, p1]);
    const legacy = await putLegacyIndex(gw, c, [p1]);
    // As after the migration on an existing database: objects known, no lists recorded.
    await md.db.run("DELETE FROM index_packs");
    await md.db.run("DELETE FROM index_objects");
    const src = await md.sources.require("web-01");
    const r = await runGc(md, src, { now: Date.now(), minDelayMs: 14 * DAY, storage });
    assert.equal(r.indexes?.backfilled, 2);
    const objs = await md.db.all<{ key: string; listed: number }>(
      "SELECT key, listed FROM index_objects ORDER BY key",
    );
    assert.deepEqual(
      objs,
      [
        { key: listed, listed: 1 },
        { key: legacy, listed: 0 },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    const packs = await md.db.all<{ pack_id: string }>(
      "SELECT pack_id FROM index_packs WHERE index_key = ? ORDER BY pack_id",
      [listed],
    );
    assert.deepEqual(
      packs.map((x) => x.pack_id),
      [p1, p2].sort(),
    );
    const again = await runGc(md, src, { now: Date.now(), minDelayMs: 14 * DAY, storage });
    assert.equal(again.indexes?.backfilled, 0);
  } finally {
    await gw.close();
  }
});

test("index uploads: an absurd pack list is refused, a missing or mismatched one never collected", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const head = Buffer.alloc(8);
    head.write("CIDX");
    head.writeUInt32LE(0xfffffff0, 4);
    const absurd = Buffer.concat([head, Buffer.alloc(64, 1)]);
    const absurdKey = `index/${createHash("sha256").update(absurd).digest("hex")}`;
    const r = await put(gw, c, absurdKey, absurd);
    assert.equal(r.status, 400);
    assert.equal(xmlField(r.body, "Code"), "InvalidIndex");
    assert.match(xmlField(r.body, "Message") ?? "", /plaintext pack list claims 4294967280 bytes/);
    assert.deepEqual(await keysUnder(gw, c.bucket, "index/"), []);
    // A listed index stored under a name that is not its SHA-256: accepted, never collected.
    const p1 = await putPack(gw, c, "1");
    const good = await putIndex(gw, c, [p1]);
    const bytes = (await gw.signed(c, { method: "GET", path: `/${c.bucket}/${good}` })).body;
    const misnamed = `index/${"ab".repeat(32)}`;
    assert.equal((await put(gw, c, misnamed, bytes)).status, 200);
    const rows = await md.db.all<{ key: string; listed: number }>(
      "SELECT key, listed FROM index_objects ORDER BY key",
    );
    assert.deepEqual(
      rows.map((x) => [x.key, x.listed]),
      [
        [misnamed, 0],
        [good, 1],
      ].sort(),
    );
    // Through CompleteMultipartUpload too.
    const other = await putPack(gw, c, "2");
    const mp = encodeIndex(master, indexOf([other]), (n) => Buffer.alloc(n, 9));
    const key = `index/${mp.id}`;
    const init = await gw.signed(c, {
      method: "POST",
      path: `/${c.bucket}/${key}`,
      query: "uploads=",
    });
    const uploadId = xmlField(init.body, "UploadId") ?? "";
    const part = await gw.signed(c, {
      method: "PUT",
      path: `/${c.bucket}/${key}`,
      query: `partNumber=1&uploadId=${uploadId}`,
      body: Buffer.from(mp.bytes),
    });
    const etag = String(part.headers.etag);
    const done = await gw.signed(c, {
      method: "POST",
      path: `/${c.bucket}/${key}`,
      query: `uploadId=${uploadId}`,
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
    });
    assert.equal(done.status, 200);
    const packs = await md.db.all<{ pack_id: string }>(
      "SELECT pack_id FROM index_packs WHERE index_key = ?",
      [key],
    );
    assert.deepEqual(packs, [{ pack_id: other }]);
  } finally {
    await gw.close();
  }
});
