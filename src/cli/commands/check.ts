import { CofferError } from "../../core/errors.ts";
import { check, type CheckReport } from "../../engine/check/index.ts";
import { flag, str, type Command } from "../command.ts";
import { ExitCode } from "../exit-codes.ts";

/** `coffer check`: verifies the repository. */
export const checkCommand: Command = {
  name: "check",
  summary: "verify the repository's structure, and with --read-data every blob",
  usage: "check [--read-data | --read-data-subset N%]",
  options: {
    "read-data": { type: "boolean", help: "download, decrypt and authenticate every blob" },
    "read-data-subset": { type: "string", arg: "N%", help: "read a random N% of the packs" },
  },
  async run(ctx, args) {
    const subsetArg = str(args, "read-data-subset");
    let readDataSubset: number | undefined;
    if (subsetArg !== undefined) {
      const m = /^(\d+(?:\.\d+)?)%$/.exec(subsetArg);
      const pct = m ? Number(m[1]) : NaN;
      if (!(pct > 0 && pct <= 100))
        throw new CofferError(
          "BAD_INPUT",
          `--read-data-subset: expected a percentage like 10%, got "${subsetArg}"`,
        );
      readDataSubset = pct / 100;
    }
    const repo = await ctx.repository();
    ctx.out.info(`checking repository ${repo.id.slice(0, 10)}`);
    const report = await check(repo, {
      readData: flag(args, "read-data"),
      ...(readDataSubset !== undefined ? { readDataSubset } : {}),
    });
    if (ctx.out.json) {
      ctx.out.data({ message_type: "summary", ...report });
    } else {
      // -q: a clean check prints nothing; damage is always reported.
      if (!report.ok || !ctx.out.quiet)
        for (const line of describeReport(report)) ctx.out.line(line);
    }
    return report.ok ? ExitCode.OK : ExitCode.FATAL;
  },
};

/** Human lines for a check report. */
function describeReport(report: CheckReport): string[] {
  const lines: string[] = [];
  for (const p of report.problems) {
    if (p.severity !== "info") lines.push(`${p.severity}: ${p.object}: ${p.message}`);
  }
  for (const d of report.damagedPacks) {
    lines.push(
      `pack ${d.id.slice(0, 8)} is damaged (${d.problem}); ${String(d.blobs.length)} blob(s) lost`,
    );
  }
  for (const a of report.affected) {
    if (a.unreadable !== undefined) {
      lines.push(`snapshot ${a.id.slice(0, 8)} cannot be read: ${a.unreadable}`);
      continue;
    }
    lines.push(
      `snapshot ${a.id.slice(0, 8)}: ${String(a.paths.length)} path(s) cannot be restored correctly:`,
    );
    for (const p of a.paths) lines.push(`  ${p.path}  (${p.reason})`);
  }
  if (report.unreferencedPacks.length > 0) {
    lines.push(
      `${String(report.unreferencedPacks.length)} unreferenced pack(s) (left by an interrupted backup; prune removes them)`,
    );
  }
  const s = report.stats;
  lines.push(
    `checked ${String(s.snapshots)} snapshots, ${String(s.trees)} trees, ${String(s.packs)} packs${s.packsRead > 0 ? `, read ${String(s.packsRead)} packs` : ""}`,
  );
  lines.push(report.ok ? "no errors were found" : "Fatal: repository contains errors");
  if (report.repairs.length > 0) {
    lines.push("To repair, run in this order (docs/cli.md, coffer repair):");
    for (const [i, r] of report.repairs.entries())
      lines.push(`  ${String(i + 1)}. ${r.command}`, `     ${r.why}`);
  }
  return lines;
}
