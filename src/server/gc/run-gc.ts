import type { DbInt } from "../db/dialect.ts";
import type { Metadata } from "../metadata.ts";
import type { Source } from "../sources.ts";
import { cancelDeletion, executionStarted, requestDeletion } from "../deletions/workflow.ts";
import type { Storage } from "../../storage/storage.ts";
import { runIndexGc, type IndexGcReport } from "./index-gc.ts";

/** Default GC margin: a pack younger than this (or than an open upload session + this) is never garbage. */
export const DEFAULT_GC_MARGIN_MS = 24 * 3_600_000;

/** What one GC pass did for a source. */
export interface GcReport {
  source: string;
  packs: number;
  referenced: number;
  /** Packs newly filed as PENDING(gc). */
  filed: string[];
  /** PENDING(gc) packs cancelled because a live manifest references them again. */
  revived: string[];
  /** Index objects (when run with `storage`): see {@link runIndexGc}. */
  indexes?: IndexGcReport;
}

/**
 * Pack IDs referenced by a live or pending snapshot: the packs of every recorded manifest
 * whose `snapshots/<id>` object still exists (an executed snapshot deletion frees them).
 */
export async function referencedPacks(md: Metadata, bucket: string): Promise<Set<string>> {
  const rows = await md.db.all<{ packs: string }>(
    `SELECT m.packs FROM manifests m WHERE m.bucket = ? AND EXISTS
       (SELECT 1 FROM objects o WHERE o.bucket = m.bucket AND o.key = 'snapshots/' || m.snapshot_id)`,
    [bucket],
  );
  const out = new Set<string>();
  for (const r of rows) for (const p of JSON.parse(r.packs) as string[]) out.add(p);
  return out;
}

/** `data/<2 hex>/<64 hex>` → the pack ID, else undefined. */
export function packIdOf(key: string): string | undefined {
  const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key);
  return m !== null && m[2]?.startsWith(m[1] ?? "") === true ? m[2] : undefined;
}

/** The storage key of a pack. */
export function packKeyOf(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}

/**
 * Garbage collection from manifests: a pack that no live or pending snapshot's manifest
 * references, created before `now − margin` and before every open multipart upload of the
 * bucket minus the margin, is filed as PENDING(gc). PENDING(gc) packs referenced again are
 * revived (cancelled). With `storage`, index objects whose packs are all destroyed are
 * collected the same way ({@link runIndexGc}, same cutoff). Idempotent.
 */
export async function runGc(
  md: Metadata,
  source: Source,
  o: { now: number; minDelayMs: number; marginMs?: number; dryRun?: boolean; storage?: Storage },
): Promise<GcReport> {
  const margin = o.marginMs ?? DEFAULT_GC_MARGIN_MS;
  const referenced = await referencedPacks(md, source.bucket);
  const open = await md.db.get<{ t: DbInt | null }>(
    "SELECT MIN(initiated_at) AS t FROM multipart_uploads WHERE bucket = ?",
    [source.bucket],
  );
  const cutoff =
    Math.min(o.now, open?.t === null || open?.t === undefined ? Infinity : Number(open.t)) - margin;
  const packs = await md.db.all<{ key: string; created_at: DbInt }>(
    "SELECT key, created_at FROM objects WHERE bucket = ? AND substr(key, 1, 5) = 'data/'",
    [source.bucket],
  );
  const pending = new Map<string, { id: number; reason: string }>();
  for (const d of await md.deletions.list({ bucket: source.bucket, state: "PENDING" }))
    pending.set(d.key, { id: d.id, reason: d.reason });
  const report: GcReport = {
    source: source.name,
    packs: packs.length,
    referenced: referenced.size,
    filed: [],
    revived: [],
  };
  for (const p of packs) {
    const id = packIdOf(p.key);
    if (id === undefined) continue;
    const pend = pending.get(p.key);
    if (referenced.has(id)) {
      if (pend?.reason === "gc" && !(await executionStarted(md.db, pend.id))) {
        report.revived.push(id);
        if (o.dryRun !== true) await cancelDeletion(md, pend.id, "gc (referenced again)", o.now);
      }
      continue;
    }
    if (pend !== undefined || Number(p.created_at) >= cutoff) continue;
    report.filed.push(id);
    if (o.dryRun !== true)
      await requestDeletion(md, {
        source,
        key: p.key,
        reason: "gc",
        requestedBy: "gc",
        now: o.now,
        minDelayMs: o.minDelayMs,
      });
  }
  if (o.storage !== undefined)
    report.indexes = await runIndexGc(md, o.storage, source, {
      now: o.now,
      minDelayMs: o.minDelayMs,
      cutoff,
      ...(o.dryRun === true ? { dryRun: true } : {}),
    });
  return report;
}
