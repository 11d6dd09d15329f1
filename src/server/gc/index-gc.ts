import { isCofferError } from "../../core/errors.ts";
import type { Storage } from "../../storage/storage.ts";
import type { DbInt } from "../db/dialect.ts";
import { cancelDeletion, executionStarted, requestDeletion } from "../deletions/workflow.ts";
import type { Metadata } from "../metadata.ts";
import { storageKey } from "../object-store.ts";
import type { Source } from "../sources.ts";
import { indexFacts, readIndexPrefix, recordIndex } from "./index-lists.ts";

/** What one index GC pass did for a source. */
export interface IndexGcReport {
  /** Index objects stored before their list was recorded (read now, first bytes only). */
  backfilled: number;
  /** Index objects newly filed as PENDING(gc): every pack their list names is destroyed. */
  filed: string[];
  /** PENDING(gc) index objects cancelled because one of their packs is present again. */
  revived: string[];
}

/** SQL: the pack `ip.pack_id` is destroyed (an EXECUTED deletion) and not uploaded again. */
const PACK_KEY = "'data/' || substr(ip.pack_id, 1, 2) || '/' || ip.pack_id";
const PACK_GONE = `(NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket = ip.bucket AND o.key = ${PACK_KEY})
  AND EXISTS (SELECT 1 FROM deletions x WHERE x.bucket = ip.bucket AND x.key = ${PACK_KEY} AND x.state = 'EXECUTED'))`;

/**
 * Records the pack list of every `index/` object stored without one (stored before schema
 * version 4, or while the recording failed), reading only its first bytes. Idempotent.
 */
export async function backfillIndexLists(
  md: Metadata,
  storage: Storage,
  bucket: string,
  now: number,
): Promise<number> {
  const rows = await md.db.all<{ key: string; size: DbInt; sha256: string }>(
    `SELECT o.key, o.size, o.sha256 FROM objects o WHERE o.bucket = ? AND substr(o.key, 1, 6) = 'index/'
     AND NOT EXISTS (SELECT 1 FROM index_objects io WHERE io.bucket = o.bucket AND io.key = o.key)`,
    [bucket],
  );
  let n = 0;
  for (const r of rows) {
    const sk = storageKey(bucket, r.key);
    let prefix;
    try {
      prefix = await readIndexPrefix(
        (offset, length) => storage.get(sk, { offset, length }),
        Number(r.size),
      );
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) continue; // deleted meanwhile
      throw err;
    }
    // A list beyond the bound was never refused for these: accepted, never collected.
    await recordIndex(md.db, bucket, r.key, indexFacts(r.key, r.sha256, prefix), now);
    n++;
  }
  return n;
}

/**
 * Garbage collection of index objects: an `index/` object whose plaintext pack list is
 * non-empty and names only destroyed packs (EXECUTED and not uploaded again, the `gone` of
 * gateway/unavailable-packs.json), created before `cutoff`, is filed as PENDING(gc) through
 * the normal workflow (delay, legal hold, cancel, audit). A PENDING(gc) index naming a pack
 * that is present again is revived. An index without a list is never collected. Records of
 * index objects that no longer exist are dropped. Idempotent.
 */
export async function runIndexGc(
  md: Metadata,
  storage: Storage,
  source: Source,
  o: { now: number; minDelayMs: number; cutoff: number; dryRun?: boolean },
): Promise<IndexGcReport> {
  const bucket = source.bucket;
  const report: IndexGcReport = {
    backfilled: await backfillIndexLists(md, storage, bucket, o.now),
    filed: [],
    revived: [],
  };
  const revive = await md.db.all<{ id: number; key: string }>(
    `SELECT d.id, d.key FROM deletions d WHERE d.bucket = ? AND d.state = 'PENDING' AND d.reason = 'gc'
     AND substr(d.key, 1, 6) = 'index/'
     AND EXISTS (SELECT 1 FROM index_packs ip WHERE ip.bucket = d.bucket AND ip.index_key = d.key AND NOT ${PACK_GONE})`,
    [bucket],
  );
  for (const r of revive) {
    if (await executionStarted(md.db, r.id)) continue;
    try {
      if (o.dryRun !== true) await cancelDeletion(md, r.id, "gc (a pack is present again)", o.now);
      report.revived.push(r.key);
    } catch (err) {
      if (!isCofferError(err, "BAD_INPUT")) throw err; // the executor claimed it meanwhile
    }
  }
  const garbage = await md.db.all<{ key: string; created_at: DbInt }>(
    `SELECT io.key, o.created_at FROM index_objects io JOIN objects o ON o.bucket = io.bucket AND o.key = io.key
     WHERE io.bucket = ? AND io.listed = 1
     AND EXISTS (SELECT 1 FROM index_packs ip WHERE ip.bucket = io.bucket AND ip.index_key = io.key)
     AND NOT EXISTS (SELECT 1 FROM index_packs ip WHERE ip.bucket = io.bucket AND ip.index_key = io.key AND NOT ${PACK_GONE})
     AND NOT EXISTS (SELECT 1 FROM deletions p WHERE p.bucket = io.bucket AND p.key = io.key AND p.state = 'PENDING')
     ORDER BY io.key`,
    [bucket],
  );
  for (const g of garbage) {
    if (Number(g.created_at) >= o.cutoff) continue;
    report.filed.push(g.key);
    if (o.dryRun !== true)
      await requestDeletion(md, {
        source,
        key: g.key,
        reason: "gc",
        requestedBy: "gc",
        now: o.now,
        minDelayMs: o.minDelayMs,
      });
  }
  if (o.dryRun !== true)
    await md.db.transaction(async (tx) => {
      const gone = "NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket = t.bucket AND o.key = t.";
      await tx.run(`DELETE FROM index_packs AS t WHERE t.bucket = ? AND ${gone}index_key)`, [
        bucket,
      ]);
      await tx.run(`DELETE FROM index_objects AS t WHERE t.bucket = ? AND ${gone}key)`, [bucket]);
    });
  return report;
}
