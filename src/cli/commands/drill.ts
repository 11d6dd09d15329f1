import { resolve } from "node:path";
import { CofferError, isCofferError } from "../../core/errors.ts";
import { drill, type DrillReport } from "../../drill/drill.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import { flag, str, strs, type Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes, formatDuration } from "../output.ts";

/** Seconds for humans: `0.42 s` under a minute, else `m:ss`. */
function secs(s: number): string {
  return s < 60 ? `${s.toFixed(2)} s` : formatDuration(s);
}
import { writeRunStatus } from "../report-status.ts";
import { filterOptions, readJobOrSnapshot } from "./snapshot-filter.ts";

/** `coffer drill`: a restore drill with a measured recovery time, reported as a run. */
export const drillCommand: Command = {
  name: "drill",
  summary:
    "restore drill: restore into scratch, verify every file, measure recovery time and point",
  usage:
    "drill [--job NAME | SNAPSHOT] --target DIR [--db-target URI [--probe SQL]...] [--keep] [--json]",
  options: {
    job: { type: "string", arg: "NAME", help: "drill the latest snapshot of this agent job" },
    target: {
      type: "string",
      short: "t",
      arg: "DIR",
      help: "scratch place: a fresh directory is made under DIR and removed at the end (required)",
    },
    keep: { type: "boolean", help: "keep the scratch directory (for inspection)" },
    "db-target": {
      type: "string",
      arg: "URI",
      help: "for a database dump: restore into a scratch database on this server (postgres://… or mysql://…)",
    },
    probe: {
      type: "string",
      multiple: true,
      arg: "SQL",
      help: "query run on the scratch database; passes when its first value is not empty, 0, false or NULL",
    },
    ...filterOptions,
  },
  async run(ctx, args) {
    const { job, ref, filter } = readJobOrSnapshot(args, ctx.io.cwd, "drill");
    const targetArg = str(args, "target");
    if (targetArg === undefined)
      throw new CofferError("BAD_INPUT", "drill: --target DIR is required");
    const dbTarget = str(args, "db-target");
    if (dbTarget === undefined && strs(args, "probe").length > 0)
      throw new CofferError("BAD_INPUT", "drill: --probe needs --db-target URI");
    const repo = await ctx.repository();
    const found = await findSnapshot(repo, ref, filter);
    const now = (): number => ctx.io.clock.now();
    const started = now();
    ctx.out.info(`drill: restoring snapshot ${found.id.slice(0, 8)} (${found.snapshot.time})`);
    let report: DrillReport;
    try {
      report = await drill(repo, found, {
        target: resolve(ctx.io.cwd, targetArg),
        now,
        signal: ctx.io.signal,
        asRoot: process.getuid?.() === 0,
        keep: flag(args, "keep"),
        ...(dbTarget !== undefined
          ? {
              extraChecks: async () =>
                (await import("../../drill/db-drill.ts")).drillDatabase(repo, found, {
                  uri: dbTarget,
                  probes: strs(args, "probe"),
                  env: ctx.io.env,
                }),
            }
          : {}),
      });
    } catch (err) {
      if (!isCofferError(err, "INTERRUPTED"))
        await reportError(ctx, job, found.id, started, now(), err).catch(() => undefined);
      throw err;
    }
    await reportRun(ctx, job, report).catch((err: unknown) => {
      ctx.out.warn(
        `cannot report the drill to the gateway: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    if (ctx.out.json) ctx.out.data({ message_type: "drill", ...snake(report) });
    else {
      for (const f of report.failures.slice(0, 50)) ctx.out.line(`FAILED ${f.path}: ${f.problem}`);
      if (report.failures.length > 50)
        ctx.out.line(`… and ${String(report.failures.length - 50)} more`);
      for (const c of report.checks)
        ctx.out.line(`${c.ok ? "ok    " : "FAILED"} ${c.name}: ${c.detail}`);
      ctx.out.summary(
        `drill ${report.ok ? "passed" : "FAILED"}: snapshot ${report.snapshotId.slice(0, 8)}, ${String(report.files)} files, ${formatBytes(report.bytesVerified)} verified; recovery time ${secs(report.recoveryTimeSeconds)} (restore ${secs(report.restoreSeconds)}, verify ${secs(report.verifySeconds)}), recovery point ${secs(report.recoveryPointSeconds)}`,
      );
    }
    return report.ok ? ExitCode.OK : ExitCode.FATAL;
  },
};

/** The report with the JSON field names of `--json` (snake_case). */
function snake(r: DrillReport): Record<string, unknown> {
  return {
    ok: r.ok,
    snapshot_id: r.snapshotId,
    snapshot_time: r.snapshotTime,
    host: r.host,
    paths: r.paths,
    tags: r.tags,
    started: r.started,
    finished: r.finished,
    recovery_point_seconds: r.recoveryPointSeconds,
    recovery_time_seconds: r.recoveryTimeSeconds,
    restore_seconds: r.restoreSeconds,
    verify_seconds: r.verifySeconds,
    files: r.files,
    dirs: r.dirs,
    symlinks: r.symlinks,
    bytes_restored: r.bytesRestored,
    bytes_verified: r.bytesVerified,
    checks: r.checks,
    failures: r.failures,
  };
}

function drillTags(job: string | undefined): string[] {
  return ["drill", ...(job !== undefined ? [`drill:${job}`] : [])];
}

/** Reports a finished drill to a coffer-server gateway as a run (a failed one raises an alert). */
async function reportRun(ctx: CliContext, job: string | undefined, r: DrillReport): Promise<void> {
  if (!ctx.repoUrl.startsWith("s3:")) return;
  const key = ctx.statusKey();
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
  await writeRunStatus(
    await ctx.storage(),
    {
      ok: r.ok,
      message: r.ok
        ? "drill passed"
        : `drill failed (${failed.join(", ")}): ${r.failures
            .slice(0, 5)
            .map((f) => `${f.path}: ${f.problem}`)
            .join("; ")}`,
      tags: drillTags(job),
      host: ctx.hostname,
      time: r.finished,
      result: r.ok ? "success" : "failed",
      ...(r.ok ? {} : { code: "DRILL_FAILED" }),
      start: r.started,
      duration: r.recoveryTimeSeconds,
      recovery_point: r.recoveryPointSeconds,
      bytes_read: r.bytesRestored,
      snapshots: [r.snapshotId],
      report: snake(r),
    },
    key !== undefined ? { key } : {},
  );
}

async function reportError(
  ctx: CliContext,
  job: string | undefined,
  snapshot: string,
  start: number,
  end: number,
  err: unknown,
): Promise<void> {
  if (!ctx.repoUrl.startsWith("s3:")) return;
  const key = ctx.statusKey();
  await writeRunStatus(
    await ctx.storage(),
    {
      ok: false,
      message: `drill failed: ${err instanceof Error ? err.message : String(err)}`,
      tags: drillTags(job),
      host: ctx.hostname,
      time: new Date(end).toISOString(),
      result: "failed",
      code: isCofferError(err) ? err.code : "INTERNAL",
      start: new Date(start).toISOString(),
      duration: (end - start) / 1000,
      snapshots: [snapshot],
    },
    key !== undefined ? { key } : {},
  );
}
