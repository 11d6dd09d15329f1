import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { emptyStats } from "../../engine/backup/index.ts";
import { encodeManifest } from "../../format/manifest.ts";
import { runServerCli } from "../../cli/server/run.ts";
import { runGc } from "../gc/run-gc.ts";
import { PolicyStore } from "../retention/policy-store.ts";
import { runRetention } from "../retention/run-retention.ts";
import {
  startTestGateway,
  xmlField,
  type TestCreds,
  type TestGateway,
} from "../testing/harness.ts";
import { verifyAudit } from "../audit/verify.ts";
import { executeDue } from "./executor.ts";
import { cancelDeletion, deletionSteps, listDeletions, setDeletionDelay } from "./workflow.ts";

const DAY = 86_400_000;
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function put(
  gw: TestGateway,
  c: TestCreds,
  key: string,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  const r = await gw.signed(c, { method: "PUT", path: `/${c.bucket}/${key}`, body });
  return { status: r.status, body: r.body.toString() };
}
async function pack(gw: TestGateway, c: TestCreds, label: string): Promise<string> {
  const body = Buffer.from(`pack ${label}`);
  const id = sha(body);
  assert.equal((await put(gw, c, `data/${id.slice(0, 2)}/${id}`, body)).status, 200);
  return id;
}
async function snapshot(
  gw: TestGateway,
  c: TestCreds,
  label: string,
  packs: string[],
): Promise<{ id: string; manifest: string; status: number; body: string }> {
  const body = Buffer.from(`snapshot ${label}`);
  const id = sha(body);
  assert.equal((await put(gw, c, `snapshots/${id}`, body)).status, 200);
  const m = encodeManifest({
    v: 1,
    snapshot: id,
    host: "web-01",
    tags: [],
    time: "2000-01-01T00:00:00Z",
    stats: emptyStats(),
    packs,
  });
  const r = await put(gw, c, `manifests/${m.id}`, Buffer.from(m.bytes));
  return { id, manifest: `manifests/${m.id}`, ...r };
}
const sink = { out: (): void => undefined, err: (): void => undefined };

test("deletion workflow: delay, legal hold, cancel, idempotent executor with recorded steps", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const storage = gw.running.gateway.deps.objects.storage;
    const now = (): number => Date.now() + gw.clockOffset;
    const cli = (...a: string[]): Promise<number> =>
      runServerCli([...a, "--data-dir", gw.dataDir], sink);
    // A source may lengthen its delay, never shorten it below the minimum.
    await assert.rejects(
      setDeletionDelay(md, "web-01", 3 * DAY, 14 * DAY, "admin:test", Date.now()),
      /server minimum is 14d/,
    );
    assert.equal(await cli("source", "delay", "web-01", "7d"), 2);
    assert.equal(await cli("source", "delay", "web-01", "30d"), 0);
    await put(gw, c, "notes/a", Buffer.from("a"));
    await put(gw, c, "notes/b", Buffer.from("b"));
    const del = await gw.signed(c, { method: "DELETE", path: `/${c.bucket}/notes/a` });
    assert.equal(del.headers["x-coffer-deletion"], "pending");
    const d = (await listDeletions(md.db, { state: "PENDING" }))[0];
    assert.ok(d !== undefined);
    assert.equal(d.executeAfter - d.requestedAt, 30 * DAY);
    // The client learns it from gateway/pending-deletions.json (read-only for clients).
    const doc = await gw.signed(c, {
      method: "GET",
      path: `/${c.bucket}/gateway/pending-deletions.json`,
    });
    assert.equal(
      (JSON.parse(doc.body.toString()) as { deletions: { key: string }[] }).deletions[0]?.key,
      "notes/a",
    );
    assert.equal(
      (await put(gw, c, "gateway/pending-deletions.json", Buffer.from("{}"))).status,
      403,
    );
    // Not due: nothing happens.
    assert.equal((await executeDue(md, storage, now() + 29 * DAY)).executed.length, 0);
    // Legal hold freezes it even when due.
    assert.equal(await cli("source", "hold", "web-01", "on"), 0);
    const held = await executeDue(md, storage, now() + 31 * DAY);
    assert.deepEqual([held.executed.length, held.held], [0, 1]);
    assert.equal((await gw.signed(c, { method: "GET", path: `/${c.bucket}/notes/a` })).status, 200);
    assert.equal(await cli("source", "hold", "web-01", "off"), 0);
    // Cancel another one: it is never executed.
    await gw.signed(c, { method: "DELETE", path: `/${c.bucket}/notes/b` });
    const b = (await listDeletions(md.db, { state: "PENDING" })).find((x) => x.key === "notes/b");
    assert.ok(b !== undefined);
    assert.equal(await cli("deletions", "cancel", String(b.id)), 0);
    assert.equal(await cli("deletions", "cancel", String(b.id)), 2); // already cancelled: refused
    // Crash between storage delete and state update: the object is gone, the row still PENDING.
    await storage.delete(`buckets/${c.bucket}/notes/a`);
    const r1 = await executeDue(md, storage, now() + 31 * DAY);
    const r2 = await executeDue(md, storage, now() + 32 * DAY);
    assert.deepEqual([r1.executed.length, r2.executed.length], [1, 0]);
    // (the request itself is the row: requested_at/by and request_id)
    assert.deepEqual(
      (await deletionSteps(md.db, d.id)).map((s) => s.step),
      ["start", "storage-deleted", "executed"],
    );
    assert.equal((await gw.signed(c, { method: "GET", path: `/${c.bucket}/notes/a` })).status, 404);
    assert.equal((await gw.signed(c, { method: "GET", path: `/${c.bucket}/notes/b` })).status, 200);
    await assert.rejects(cancelDeletion(md, d.id, "x", now()), /EXECUTED/);
    // Every step is in the hash-chained audit log, and the chain still verifies.
    const audited = await md.db.all<{ action: string; key: string | null }>(
      "SELECT action, object_key AS key FROM audit_log WHERE action LIKE 'deletion.%' ORDER BY seq",
    );
    const has = (action: string, key: string): boolean =>
      audited.some((e) => e.action === action && e.key === key);
    assert.ok(has("deletion.requested", "notes/a"), JSON.stringify(audited));
    assert.ok(has("deletion.cancelled", "notes/b"), JSON.stringify(audited));
    assert.ok(has("deletion.start", "notes/a"));
    assert.ok(has("deletion.executed", "notes/a"));
    const report = await verifyAudit(md.db, undefined);
    assert.deepEqual(report.problems, []);
  } finally {
    await gw.close();
  }
});

test("GC from manifests: unreferenced packs pending, revived by a manifest, destroyed ones refused", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const storage = gw.running.gateway.deps.objects.storage;
    const src = await md.sources.require("web-01");
    const p1 = await pack(gw, c, "1");
    const p2 = await pack(gw, c, "2");
    const p3 = await pack(gw, c, "3");
    const s1 = await snapshot(gw, c, "1", [p1]);
    assert.equal(s1.status, 200);
    const t0 = Date.now();
    // Too young (margin) → nothing.
    assert.deepEqual((await runGc(md, src, { now: t0, minDelayMs: 14 * DAY })).filed, []);
    // An open multipart upload holds GC back until it is older than the margin.
    const mp = await gw.signed(c, {
      method: "POST",
      path: `/${c.bucket}/data/aa/upload`,
      query: "uploads=",
    });
    assert.equal(mp.status, 200);
    assert.deepEqual((await runGc(md, src, { now: t0 + 2 * DAY, minDelayMs: 14 * DAY })).filed, []);
    await gw.signed(c, {
      method: "DELETE",
      path: `/${c.bucket}/data/aa/upload`,
      query: `uploadId=${xmlField(mp.body, "UploadId") ?? ""}`,
    });
    const g = await runGc(md, src, { now: t0 + 2 * DAY, minDelayMs: 14 * DAY });
    assert.deepEqual(g.filed.sort(), [p2, p3].sort());
    const un = JSON.parse(
      (
        await gw.signed(c, { method: "GET", path: `/${c.bucket}/gateway/unavailable-packs.json` })
      ).body.toString(),
    ) as { pending: string[]; gone: string[] };
    assert.deepEqual([un.pending.sort(), un.gone], [[p2, p3].sort(), []]);
    // A new manifest referencing p2 revives it.
    assert.equal((await snapshot(gw, c, "2", [p1, p2])).status, 200);
    assert.equal(await md.deletions.pending(c.bucket, `data/${p2.slice(0, 2)}/${p2}`), undefined);
    // p3 is destroyed after the delay; a manifest referencing it is refused with a clear error.
    const ex = await executeDue(md, storage, t0 + 17 * DAY);
    assert.deepEqual(
      ex.executed.map((x) => x.key),
      [`data/${p3.slice(0, 2)}/${p3}`],
    );
    const bad = await snapshot(gw, c, "3", [p1, p3]);
    assert.equal(bad.status, 400);
    assert.equal(xmlField(bad.body, "Code"), "InvalidManifest");
    assert.match(
      xmlField(bad.body, "Message") ?? "",
      /references pack [0-9a-f]{8}, which garbage collection destroyed; back up again/,
    );
    const un2 = JSON.parse(
      (
        await gw.signed(c, { method: "GET", path: `/${c.bucket}/gateway/unavailable-packs.json` })
      ).body.toString(),
    ) as { pending: string[]; gone: string[] };
    assert.deepEqual(un2.gone, [p3]);
    // Re-uploading the pack (the client rewrites the data) makes the manifest acceptable again.
    await pack(gw, c, "3");
    assert.equal((await snapshot(gw, c, "3b", [p1, p3])).status, 200);
  } finally {
    await gw.close();
  }
});

test("server retention: flood of new snapshots cannot push older kept ones out of keep-within", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const c = await gw.addSource("web-01");
    const md = gw.running.metadata;
    const src = await md.sources.require("web-01");
    await new PolicyStore(md.db).set(c.bucket, { keepWithin: "7d" }, "test", Date.now());
    const base = Date.now() - 10 * DAY;
    const daily: string[] = [];
    for (let d = 0; d < 10; d++) {
      gw.clockOffset = base + d * DAY - Date.now();
      daily.push((await snapshot(gw, c, `day ${d}`, [])).id);
    }
    // A compromised client floods 100 snapshots within one hour, claiming times far in the future.
    gw.clockOffset = base + 9 * DAY + 60_000 - Date.now();
    for (let i = 0; i < 100; i++) await snapshot(gw, c, `flood ${i}`, []);
    gw.clockOffset = 0;
    const r = await runRetention(md, src, {
      now: base + 9 * DAY + 3_600_000,
      minDelayMs: 14 * DAY,
    });
    assert.ok(r !== undefined);
    // The window is anchored at the newest commit (≈ day 9): days 3..9 stay, only 0..2 go.
    const forgotten = new Set(r.filed);
    assert.deepEqual(
      daily.map((id) => forgotten.has(id)),
      [true, true, true, false, false, false, false, false, false, false],
    );
    assert.equal(r.filed.length, 3);
    // Idempotent: a second pass files nothing new.
    assert.equal(
      (await runRetention(md, src, { now: base + 9 * DAY + 3_600_000, minDelayMs: 14 * DAY }))
        ?.filed.length,
      0,
    );
    assert.equal(
      (await listDeletions(md.db, { state: "PENDING" })).filter((d) => d.reason === "retention")
        .length,
      6,
    ); // snapshot + manifest each
  } finally {
    gw.clockOffset = 0;
    await gw.close();
  }
});
