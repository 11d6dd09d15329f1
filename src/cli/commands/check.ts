import { CofferError } from "../../core/errors.ts";
import { check } from "../../engine/check.ts";
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
      if (!(pct > 0 && pct <= 100)) throw new CofferError("BAD_INPUT", `--read-data-subset: expected a percentage like 10%, got "${subsetArg}"`);
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
      for (const line of describeReport(report)) ctx.out.line(line);
    }
    return report.ok ? ExitCode.OK : ExitCode.FATAL;
  },
};

/** Human lines for a check report. */
function describeReport(report: Awaited<ReturnType<typeof check>>): string[] {
  const lines: string[] = [];
  for (const e of report.errors) lines.push(`error: ${e.message}`);
  for (const d of report.damaged) {
    lines.push(`pack ${d.pack.slice(0, 8)} is damaged (${d.reason}); it affects:`);
    for (const s of d.snapshots) lines.push(`  snapshot ${s.id.slice(0, 8)}: ${s.files.join(", ")}`);
  }
  for (const i of report.info) lines.push(i);
  lines.push(report.ok ? "no errors were found" : "Fatal: repository contains errors");
  return lines;
}
