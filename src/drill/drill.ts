import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import { restore } from "../engine/restore/index.ts";
import { parseTimeNs } from "../format/time.ts";
import { type DrillFailure, verifyRestored } from "./verify-restored.ts";

/** One check a drill ran. */
export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a drill did and found: the report an auditor files (`coffer drill --json`). */
export interface DrillReport {
  ok: boolean;
  snapshotId: string;
  snapshotTime: string;
  host: string;
  paths: string[];
  tags: string[];
  /** When the drill started and finished (ISO 8601). */
  started: string;
  finished: string;
  /** Recovery point: the snapshot's age when the drill started, in seconds. */
  recoveryPointSeconds: number;
  /** Recovery time: wall seconds from the start to a verified restore. */
  recoveryTimeSeconds: number;
  restoreSeconds: number;
  verifySeconds: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** Bytes restored, and bytes read back and matched against the snapshot. */
  bytesRestored: number;
  bytesVerified: number;
  checks: DrillCheck[];
  failures: DrillFailure[];
  /** The scratch directory (removed at the end unless `keep`). */
  scratch: string;
}

/** Options of {@link drill}. */
export interface DrillOptions {
  /** Directory under which the scratch directory is made (created if missing). */
  target: string;
  now: () => number;
  signal?: AbortSignal;
  /** Compare owners too (only meaningful as root). */
  asRoot?: boolean;
  /** Keep the scratch directory (for inspection). */
  keep?: boolean;
  /** Extra checks run on the restored tree before cleanup (database probes...). */
  extraChecks?: (scratch: string) => Promise<DrillCheck[]>;
}

/**
 * A restore drill: restores `snap` into a fresh scratch directory under `o.target`, verifies
 * every entry against the snapshot ({@link verifyRestored}: content by blob ID, type, mode,
 * times, links), runs the extra checks, measures the recovery time and point, and removes
 * the scratch directory. Failures are returned as data (`ok: false`, each one named); only
 * an unusable target or repository throws.
 */
export async function drill(
  repo: Repository,
  snap: FoundSnapshot,
  o: DrillOptions,
): Promise<DrillReport> {
  const start = o.now();
  await mkdir(o.target, { recursive: true });
  const scratch = await mkdtemp(join(o.target, "coffer-drill-"));
  try {
    const restored = await restore(repo, snap.id, {
      target: scratch,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    const restoredAt = o.now();
    const v = await verifyRestored(repo, snap.snapshot.tree, scratch, {
      ...(o.asRoot !== undefined ? { asRoot: o.asRoot } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    const failures: DrillFailure[] = [
      ...restored.errors.map((e) => ({ path: e.path, problem: `not restored: ${e.message}` })),
      ...v.failures,
    ];
    const counted = v.files === snap.snapshot.stats.files;
    const checks: DrillCheck[] = [
      {
        name: "restore",
        ok: restored.errors.length === 0,
        detail: `${String(restored.files)} files, ${String(restored.bytes)} bytes restored, ${String(restored.errors.length)} errors`,
      },
      {
        name: "files",
        ok: v.failures.length === 0,
        detail: `${String(v.files)} files, ${String(v.dirs)} directories, ${String(v.symlinks)} symlinks verified (content and metadata), ${String(v.failures.length)} mismatches`,
      },
      {
        name: "count",
        ok: counted,
        detail: `${String(v.files)} files verified, the snapshot records ${String(snap.snapshot.stats.files)}`,
      },
    ];
    if (o.extraChecks !== undefined) checks.push(...(await o.extraChecks(scratch)));
    const end = o.now();
    const snapMs = Number(parseTimeNs(snap.snapshot.time) / 1_000_000n);
    return {
      ok: checks.every((c) => c.ok) && failures.length === 0,
      snapshotId: snap.id,
      snapshotTime: snap.snapshot.time,
      host: snap.snapshot.host,
      paths: snap.snapshot.paths,
      tags: snap.snapshot.tags,
      started: new Date(start).toISOString(),
      finished: new Date(end).toISOString(),
      recoveryPointSeconds: Math.max(0, (start - snapMs) / 1000),
      recoveryTimeSeconds: (end - start) / 1000,
      restoreSeconds: (restoredAt - start) / 1000,
      verifySeconds: (end - restoredAt) / 1000,
      files: v.files,
      dirs: v.dirs,
      symlinks: v.symlinks,
      bytesRestored: restored.bytes,
      bytesVerified: v.bytes,
      checks,
      failures,
      scratch,
    };
  } finally {
    if (o.keep !== true) await rm(scratch, { recursive: true, force: true });
  }
}
