import type { Storage } from "../../storage/storage.ts";
import type { Queryable } from "../db/dialect.ts";
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
): Promise<AuditReport> {
  const problems: AuditProblem[] = [];
  const prunes = new Map<number, string>();
  for (const r of await db.all<{ detail: string | null }>(
    "SELECT detail FROM audit_log WHERE action = 'audit.prune'",
  )) {
    try {
      const d = JSON.parse(r.detail ?? "{}") as { firstKept?: number; prevHash?: string };
      if (typeof d.firstKept === "number" && typeof d.prevHash === "string")
        prunes.set(d.firstKept, d.prevHash);
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
  if (storage !== undefined) {
    const { anchors, bad } = await listAnchors(storage);
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
  problems.sort((x, y) => x.seq - y.seq);
  report.ok = problems.length === 0;
  return report;
}
