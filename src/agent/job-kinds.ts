import { CofferError } from "../core/errors.ts";
import { backup } from "../engine/backup/index.ts";
import { backupCommand } from "../engine/backup/index.ts";
import { check, type CheckReport } from "../engine/check/index.ts";
import type { JobConfig, JobWhat } from "./config.ts";
import type { WorkContext, WorkResult } from "./work.ts";

export type { WorkContext, WorkResult } from "./work.ts";

/** Does the job's work: a backup of files, databases or a command's output, or a check. */
export async function doWork(job: JobConfig, c: WorkContext): Promise<WorkResult> {
  const w: JobWhat = job.what;
  const common = { tags: c.tags, host: c.host, signal: c.signal };
  if (w.kind === "files") {
    let unreadable = 0;
    const r = await backup(c.repo, {
      paths: w.paths,
      excludes: w.exclude,
      oneFileSystem: w.oneFileSystem,
      ...common,
      onWarning: (x) => {
        if (x.kind !== "skipped") unreadable++;
        c.log(`warning: ${x.message.includes(x.path) ? x.message : `${x.path}: ${x.message}`}`);
      },
    });
    c.log(`snapshot ${r.snapshotId.slice(0, 8)} saved`, { snapshot: r.snapshotId });
    return {
      snapshots: [r.snapshotId],
      bytesRead: r.stats.bytes,
      bytesAdded: r.stats.storedBytes,
      ...(unreadable > 0
        ? { warning: `${String(unreadable)} file(s) could not be read; the snapshot is incomplete` }
        : {}),
    };
  }
  if (w.kind === "command") {
    const [command = "", ...args] = w.argv;
    const r = await backupCommand(c.repo, { command, args, filename: w.filename, ...common });
    c.log(`snapshot ${r.snapshotId.slice(0, 8)} saved`, { snapshot: r.snapshotId });
    return { snapshots: [r.snapshotId], bytesRead: r.stats.bytes, bytesAdded: r.stats.storedBytes };
  }
  // The dump drivers (and SQLite's native module) load only for a databases job.
  if (w.kind === "databases") return (await import("./job-databases.ts")).dumpDatabases(w.spec, c);
  if (w.kind === "drill" || w.kind === "mirror" || w.kind === "copy")
    return (await import("./job-recovery.ts")).doRecovery(w, c);
  const report = await check(c.repo, {
    readData: w.readData,
    ...(w.subset !== undefined && "of" in w.subset
      ? { readDataPart: { index: c.runIndex % w.subset.of, of: w.subset.of } }
      : {}),
    ...(w.subset !== undefined && "fraction" in w.subset
      ? { readDataSubset: w.subset.fraction }
      : {}),
  });
  const part =
    w.subset !== undefined && "of" in w.subset
      ? ` (part ${String((c.runIndex % w.subset.of) + 1)} of ${String(w.subset.of)})`
      : "";
  c.log(
    `checked ${String(report.stats.snapshots)} snapshots, ${String(report.stats.packs)} packs, read ${String(report.stats.packsRead)} packs${part}`,
  );
  if (!report.ok) throw new CofferError("CORRUPT", describeDamage(report));
  return { snapshots: [], bytesRead: report.stats.bytesRead, bytesAdded: 0 };
}

/** One line naming the damage a check found and the snapshots it affects. */
export function describeDamage(r: CheckReport): string {
  const parts: string[] = [];
  for (const d of r.damagedPacks.slice(0, 5)) {
    const snaps = d.snapshots.map((id) => id.slice(0, 8));
    parts.push(
      `pack ${d.id.slice(0, 8)} is damaged (${d.problem})${snaps.length > 0 ? `, affecting snapshot(s) ${snaps.join(", ")}` : ""}`,
    );
  }
  const errors = r.problems.filter((p) => p.severity === "error");
  if (parts.length === 0)
    for (const p of errors.slice(0, 3)) parts.push(`${p.object}: ${p.message}`);
  const more = r.damagedPacks.length > 5 ? `; and ${String(r.damagedPacks.length - 5)} more` : "";
  return `check found damage: ${parts.join("; ") || "repository contains errors"}${more}`;
}
