import type { Storage } from "../../storage/storage.ts";
import type { DbInt, Queryable } from "../db/dialect.ts";
import { type Anchor, listAnchors } from "./anchors.ts";
import { type AuditRow, chainHash, GENESIS_HASH } from "./audit-log.ts";

/** One finding of {@link verifyAudit}; `seq` says where. */
export interface AuditProblem {
  seq: number;
  message: string;
}

/** The outcome of a verification (data, never thrown). */
export interface AuditReport {
  ok: boolean;
  entries: number;
  firstSeq: number;
  headSeq: number;
  anchors: number;
  /** The newest anchor that the chain matches. */
  lastAnchor?: Anchor;
  problems: AuditProblem[];
}

/**
 * Re-computes the hash chain from the first kept entry and compares it with every anchor in
 * storage. Finds edited entries (hash mismatch), deleted ones (a gap in seq, or a missing
 * start without an `audit.prune` record), reordered ones (a seq/content swap breaks both the
 * hash and the link), and a truncated tail (an anchor beyond the head).
 */
export async function verifyAudit(
  db: Queryable,
  storage: Storage | undefined,
  o: { retentionMs?: number } = {},
): Promise<AuditReport> {
  const problems: AuditProblem[] = [];
  const prunes = new Map<number, string>();
  const pruneRecords: PruneRecord[] = [];
  for (const r of await db.all<{ seq: DbInt; time: DbInt; detail: string | null }>(
    "SELECT seq, time, detail FROM audit_log WHERE action = 'audit.prune' ORDER BY seq",
  )) {
    try {
      const d = JSON.parse(r.detail ?? "{}") as {
        firstKept?: unknown;
        prevHash?: unknown;
        cutoff?: unknown;
      };
      if (typeof d.firstKept === "number" && typeof d.prevHash === "string") {
        prunes.set(d.firstKept, d.prevHash);
        pruneRecords.push({
          seq: Number(r.seq),
          time: Number(r.time),
          firstKept: d.firstKept,
          cutoff: typeof d.cutoff === "number" ? d.cutoff : undefined,
        });
      }
    } catch {
      // an edited prune record shows up as a hash mismatch below
    }
  }
  const hashes = new Map<number, string>();
  let entries = 0;
  let firstSeq = 0;
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let after = -1;
  for (;;) {
    const rows = await db.all<AuditRow>(
      "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 5000",
      [after],
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      entries++;
      if (entries === 1) {
        firstSeq = seq;
        if (seq !== 1) {
          const p = prunes.get(seq);
          if (p === undefined)
            problems.push({
              seq,
              message: `entries 1..${seq - 1} are missing (deleted without an audit.prune record)`,
            });
          prevHash = p ?? r.prev_hash;
        }
      } else if (seq !== prevSeq + 1) {
        problems.push({ seq, message: `entries ${prevSeq + 1}..${seq - 1} are missing (deleted)` });
      }
      if (r.prev_hash !== prevHash)
        problems.push({
          seq,
          message: `entry ${seq} does not link to entry ${prevSeq} (deleted, inserted or reordered)`,
        });
      const h = chainHash(r.prev_hash, r);
      if (h !== r.hash)
        problems.push({
          seq,
          message: `entry ${seq} was modified or reordered (its content does not match its hash)`,
        });
      hashes.set(seq, r.hash);
      prevSeq = seq;
      prevHash = r.hash;
    }
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < 5000) break;
    after = Number(last.seq);
  }
  const report: AuditReport = {
    ok: false,
    entries,
    firstSeq,
    headSeq: prevSeq,
    anchors: 0,
    problems,
  };
  let anchorsSeen: Anchor[] = [];
  if (storage !== undefined) {
    const { anchors, bad } = await listAnchors(storage);
    anchorsSeen = anchors;
    report.anchors = anchors.length;
    for (const b of bad) problems.push({ seq: 0, message: `anchor ${b.key}: ${b.message}` });
    for (const a of anchors) {
      if (a.seq > prevSeq) {
        problems.push({
          seq: a.seq,
          message: `entries ${prevSeq + 1}..${a.seq} are missing: anchor ${a.key} records seq ${a.seq} but the log ends at ${prevSeq} (truncated)`,
        });
        continue;
      }
      if (a.seq < firstSeq) continue; // pruned by retention
      const h = hashes.get(a.seq);
      if (h === undefined) continue; // reported as a gap
      if (h !== a.hash)
        problems.push({
          seq: a.seq,
          message: `entry ${a.seq} differs from anchor ${a.key} (the chain up to it was rewritten)`,
        });
      else report.lastAnchor = a;
    }
  }
  problems.push(...checkPrunes(pruneRecords, firstSeq, o.retentionMs, anchorsSeen));
  problems.sort((x, y) => x.seq - y.seq);
  report.ok = problems.length === 0;
  return report;
}

interface PruneRecord {
  seq: number;
  time: number;
  firstKept: number;
  cutoff: number | undefined;
}

/**
 * A chain-correct `audit.prune` record can be forged by whoever can write the database: the
 * oldest entries deleted and one record appended. Two facts it cannot fake:
 * - the configured retention: an honest prune's cutoff is at least `retentionMs` before the
 *   record's own time;
 * - the anchors: an anchor of seq `a`, written at time T, proves entries after `a` were written
 *   after T. A prune removes only entries older than its cutoff, so every anchor strictly
 *   inside the removed range (before `firstKept - 1`) must be older than the cutoff.
 */
function checkPrunes(
  records: readonly PruneRecord[],
  firstSeq: number,
  retentionMs: number | undefined,
  anchors: readonly Anchor[],
): AuditProblem[] {
  const out: AuditProblem[] = [];
  for (const p of records) {
    if (p.cutoff === undefined) {
      out.push({ seq: p.seq, message: `audit.prune at seq ${p.seq} records no cutoff (forged)` });
      continue;
    }
    if (retentionMs !== undefined && p.cutoff > p.time - retentionMs)
      out.push({
        seq: p.seq,
        message: `audit.prune at seq ${p.seq} removed entries newer than the audit retention allows (cutoff ${new Date(p.cutoff).toISOString()} is less than ${Math.round(retentionMs / 86_400_000)}d before the prune at ${new Date(p.time).toISOString()})`,
      });
    if (p.firstKept !== firstSeq) continue;
    const cutoff = p.cutoff;
    const young = anchors.find((a) => a.seq <= p.firstKept - 2 && a.time >= cutoff);
    if (young !== undefined)
      out.push({
        seq: p.seq,
        message: `audit.prune at seq ${p.seq} removed entries written after anchor ${young.key} (${new Date(young.time).toISOString()}), newer than its cutoff ${new Date(cutoff).toISOString()} (forged prune)`,
      });
  }
  return out;
}
