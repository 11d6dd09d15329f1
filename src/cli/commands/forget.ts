import { CofferError } from "../../core/errors.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import {
  forgetByPolicy,
  forgetSnapshots,
  pendingDeletions,
  type ForgetOutcome,
} from "../../engine/prune/index.ts";
import { prune } from "../../engine/prune/index.ts";
import { assertTimeZone } from "../../retention/calendar.ts";
import { parsePolicyFlags } from "../../retention/index.ts";
import { flag, str, strs, type Command, type OptionSpec } from "../command.ts";
import type { CliContext } from "../context.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";
import { printPruneReport, pruneOptions, readPruneOptions } from "./prune.ts";

/** `--time-zone`, else the process's local zone (`TZ`), as restic counts calendar units. */
function readTimeZone(v: string | undefined): string {
  const zone = v ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    assertTimeZone(zone); // the check (and cached formatter) the retention engine uses
  } catch {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid --time-zone ${JSON.stringify(zone)}: use an IANA zone such as Europe/Paris`,
    );
  }
  return zone;
}

const KEEP_COUNTS = [
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
];
const KEEP_WITHIN = [
  "keep-within",
  "keep-within-hourly",
  "keep-within-daily",
  "keep-within-weekly",
  "keep-within-monthly",
  "keep-within-yearly",
];

const policyOptions: Record<string, OptionSpec> = {
  preset: {
    type: "string",
    arg: "NAME",
    help: "named policy: degressive, rolling-30d, twice-daily-7d, hourly-150h-daily-90d-monthly-12m, gfs-7d-4w-6m",
  },
  ...Object.fromEntries(
    KEEP_COUNTS.map((k): [string, OptionSpec] => [
      k,
      {
        type: "string",
        arg: "N",
        help:
          k === "keep-last"
            ? "keep the newest N snapshots"
            : `keep the newest snapshot of each of the last N ${k.slice(5).replace("ly", "").replace("dai", "day")}s`,
      },
    ]),
  ),
  ...Object.fromEntries(
    KEEP_WITHIN.map((k): [string, OptionSpec] => [
      k,
      { type: "string", arg: "DURATION", help: `${k} (e.g. 7d, 2w, 1y2m)` },
    ]),
  ),
  "keep-tag": {
    type: "string",
    multiple: true,
    arg: "TAG[,TAG]",
    help: "keep snapshots with these tags",
  },
  tier: {
    type: "string",
    multiple: true,
    arg: "DUR:KEEP",
    help: "degressive tier, e.g. 7d:all, 3w:3/week (repeat, youngest first)",
  },
  "group-by": {
    type: "string",
    arg: "host,tags,paths",
    help: "group snapshots (default host,paths)",
  },
};

function printOutcomes(ctx: CliContext, list: ForgetOutcome[]): void {
  for (const o of list) {
    if (o.state === "pending")
      ctx.out.line(
        `snapshot ${o.id.slice(0, 8)}: deletion pending at the gateway, executes after ${o.executeAfter ?? "?"} (cancellable by the operator)`,
      );
    else ctx.out.line(`snapshot ${o.id.slice(0, 8)} removed`);
  }
}

/** `coffer forget`: forget snapshots by ID or by retention policy (restic-style). */
export const forgetCommand: Command = {
  name: "forget",
  summary:
    "forget snapshots by ID or by a retention policy (behind a coffer gateway: a delayed, cancellable deletion)",
  usage:
    "forget [SNAPSHOT...] | forget (--preset NAME | --keep-* ... | --tier ...) [--group-by host,tags] [--dry-run] [--prune]",
  options: {
    ...policyOptions,
    ...filterOptions,
    "dry-run": { type: "boolean", help: "show what would be forgotten; change nothing" },
    prune: { type: "boolean", help: "run prune afterwards (client-managed repositories)" },
    "time-zone": {
      type: "string",
      arg: "ZONE",
      help: "IANA zone whose days, weeks and months the rules count in (default: the local zone, as restic)",
    },
    ...pruneOptions,
  },
  async run(ctx, args) {
    const repo = await ctx.repository();
    // Prune options are checked before anything is forgotten.
    const pruneOpts = readPruneOptions(args, repo.clock.now());
    const flags: Record<string, string | string[]> = {};
    for (const k of ["preset", "group-by", ...KEEP_COUNTS, ...KEEP_WITHIN]) {
      const v = str(args, k);
      if (v !== undefined) flags[k] = v;
    }
    for (const k of ["keep-tag", "tier"]) if (strs(args, k).length > 0) flags[k] = strs(args, k);
    const dryRun = flag(args, "dry-run");
    let outcomes: ForgetOutcome[];
    if (args.positionals.length > 0) {
      if (Object.keys(flags).length > 0)
        throw new CofferError("BAD_INPUT", "forget: give snapshot IDs or a policy, not both");
      const ids: string[] = [];
      const filter = readFilter(args, ctx.io.cwd); // `latest` is the newest after the filters
      for (const ref of args.positionals) ids.push((await findSnapshot(repo, ref, filter)).id);
      outcomes = dryRun
        ? ids.map((id): ForgetOutcome => ({ id, state: "would-remove", manifests: [] }))
        : await forgetSnapshots(repo, [...new Set(ids)]);
      if (ctx.out.json) ctx.out.data({ dryRun, snapshots: outcomes });
      else if (dryRun)
        for (const id of ids) ctx.out.line(`would forget snapshot ${id.slice(0, 8)}`);
      else printOutcomes(ctx, outcomes);
    } else {
      if (Object.keys(flags).filter((k) => k !== "group-by").length === 0) {
        throw new CofferError(
          "BAD_INPUT",
          "forget: give snapshot IDs, --preset or --keep-*/--tier rules (refusing to forget everything)",
        );
      }
      const policy = parsePolicyFlags(flags);
      const r = await forgetByPolicy(repo, policy, {
        now: repo.clock.now(),
        dryRun,
        timeZone: readTimeZone(str(args, "time-zone")),
        filter: readFilter(args, ctx.io.cwd),
      });
      outcomes = r.forgotten;
      if (ctx.out.json) ctx.out.data({ dryRun, groups: r.decision.groups, forgotten: outcomes });
      else {
        for (const g of r.decision.groups) {
          ctx.out.line(
            `group ${g.key} (${g.policy}): keep ${g.keep.length}, forget ${g.forget.length}`,
          );
          for (const k of g.keep)
            ctx.out.line(`  keep   ${k.id.slice(0, 8)}  ${k.reasons.join("; ")}`);
          for (const f of g.forget)
            ctx.out.line(`  ${dryRun ? "would forget" : "forget"} ${f.id.slice(0, 8)}`);
        }
        if (!dryRun) printOutcomes(ctx, outcomes);
      }
    }
    if (flag(args, "prune") && !dryRun) {
      // Behind a coffer gateway (even when nothing was forgotten now) its GC reclaims space.
      if (
        outcomes.some((o) => o.state === "pending") ||
        (await pendingDeletions(repo.storage)) !== undefined
      ) {
        ctx.out.info(
          "forget: --prune skipped: the gateway reclaims space itself (GC after the deletion delay)",
        );
        return 0;
      }
      pruneOpts.signal = ctx.io.signal; // SIGINT/SIGTERM stop the prune and release its lock
      printPruneReport(ctx, await prune(repo, pruneOpts));
    }
    return 0;
  },
};
