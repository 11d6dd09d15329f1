import {
  applyPolicy,
  planDeletions,
  type RetentionDecision,
  type RetentionSnapshot,
} from "../../retention/index.ts";
import type { Metadata } from "../metadata.ts";
import type { Source } from "../sources.ts";
import { cancelDeletion, executionStarted, requestDeletion } from "../deletions/workflow.ts";
import { applyFloor, DEFAULT_RETENTION_FLOOR, type RetentionFloor } from "./floor.ts";
import { PolicyStore } from "./policy-store.ts";

/** What one retention pass decided for a source. */
export interface RetentionReport {
  source: string;
  snapshots: number;
  decision: RetentionDecision;
  /** Snapshot IDs newly filed as PENDING(retention). */
  filed: string[];
  /** Retention deletions cancelled because the (changed) policy keeps the snapshot again. */
  cancelled: string[];
}

/**
 * The snapshots retention sees for a bucket: every recorded manifest whose snapshot object
 * still exists (live or pending deletion), at the **server's** commit time. Paths are not in
 * manifests, so grouping by paths sees one path set.
 */
export async function retentionInput(
  md: Metadata,
  bucket: string,
): Promise<{ snapshots: RetentionSnapshot[]; manifestKeys: Map<string, string[]> }> {
  const present = new Set(
    (
      await md.db.all<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND substr(key, 1, 10) = 'snapshots/'",
        [bucket],
      )
    ).map((r) => r.key.slice(10)),
  );
  const bySnapshot = new Map<string, RetentionSnapshot>();
  const manifestKeys = new Map<string, string[]>();
  for (const m of await md.manifests.list(bucket)) {
    if (!present.has(m.snapshot)) continue;
    const keys = manifestKeys.get(m.snapshot) ?? [];
    keys.push(m.key);
    manifestKeys.set(m.snapshot, keys);
    const prev = bySnapshot.get(m.snapshot);
    // Several manifests for one snapshot (a retried commit): the first commit time counts.
    if (prev === undefined || m.committedAt < prev.time) {
      bySnapshot.set(m.snapshot, {
        id: m.snapshot,
        time: m.committedAt,
        host: m.host,
        tags: m.tags,
        paths: [],
      });
    }
  }
  return { snapshots: [...bySnapshot.values()], manifestKeys };
}

/**
 * Applies a source's policy (anchor `latest`: windows end at the group's newest commit, so
 * nothing expires while backups have stopped), then the server floor (`floor`, default
 * {@link DEFAULT_RETENTION_FLOOR}: no count rule can file a snapshot it protects), and files
 * each forgotten snapshot's `snapshots/<id>` and `manifests/<id>` objects as
 * PENDING(retention). Idempotent.
 */
export async function runRetention(
  md: Metadata,
  source: Source,
  o: {
    now: number;
    minDelayMs: number;
    timeZone?: string;
    dryRun?: boolean;
    floor?: RetentionFloor;
  },
): Promise<RetentionReport | undefined> {
  const stored = await new PolicyStore(md.db).get(source.bucket);
  if (stored === undefined) return undefined;
  const { snapshots, manifestKeys } = await retentionInput(md, source.bucket);
  const timeZone = o.timeZone ?? "UTC";
  const decision = applyFloor(
    applyPolicy(snapshots, stored.policy, { now: o.now, anchor: "latest", timeZone }),
    snapshots,
    o.floor ?? DEFAULT_RETENTION_FLOOR,
    o.now,
    timeZone,
  );
  const pending = new Map<string, { id: number; reason: string }>();
  for (const d of await md.deletions.list({ bucket: source.bucket, state: "PENDING" })) {
    if (d.key.startsWith("snapshots/"))
      pending.set(d.key.slice(10), { id: d.id, reason: d.reason });
  }
  // A retention deletion an operator cancelled sticks: retention never files that snapshot again.
  const spared = await md.db.all<{ key: string }>(
    `SELECT key FROM deletions WHERE bucket = ? AND reason = 'retention' AND state = 'CANCELLED'
       AND substr(key, 1, 10) = 'snapshots/' AND (state_changed_by IS NULL OR substr(state_changed_by, 1, 9) <> 'retention')`,
    [source.bucket],
  );
  const filed = planDeletions(
    decision,
    new Set([...pending.keys(), ...spared.map((r) => r.key.slice(10))]),
  );
  const report: RetentionReport = {
    source: source.name,
    snapshots: snapshots.length,
    decision,
    filed,
    cancelled: [],
  };
  if (o.dryRun === true) return report;
  const kept = new Set(decision.groups.flatMap((g) => g.keep.map((k) => k.id)));
  for (const [id, p] of pending) {
    if (p.reason !== "retention" || !kept.has(id)) continue;
    for (const key of [`snapshots/${id}`, ...(manifestKeys.get(id) ?? [])]) {
      const d = await md.deletions.pending(source.bucket, key);
      if (d?.reason !== "retention" || (await executionStarted(md.db, d.id))) continue;
      await cancelDeletion(md, d.id, "retention (policy keeps it)", o.now);
    }
    report.cancelled.push(id);
  }
  for (const id of filed) {
    for (const key of [`snapshots/${id}`, ...(manifestKeys.get(id) ?? [])]) {
      await requestDeletion(md, {
        source,
        key,
        reason: "retention",
        requestedBy: "retention",
        now: o.now,
        minDelayMs: o.minDelayMs,
      });
    }
  }
  return report;
}
