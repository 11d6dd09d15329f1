import { CofferError } from "../../core/errors.ts";
import { prune, type PruneOptions, type PruneReport } from "../../engine/prune.ts";
import { flag, str, type Command, type OptionSpec, type ParsedArgs } from "../command.ts";
import type { CliContext } from "../context.ts";

/** Options shared by `prune` and `forget --prune`. */
export const pruneOptions: Record<string, OptionSpec> = {
  grace: {
    type: "string",
    arg: "DURATION",
    help: "delete planned packs only after this long (default 6h; longer than any backup; e.g. 6h, 30m, 90s)",
  },
};

/** Reads `--grace` into prune options. */
export function readPruneOptions(args: ParsedArgs, now: number): PruneOptions {
  const g = str(args, "grace");
  const o: PruneOptions = { now };
  if (g !== undefined) {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(g.trim());
    if (m === null)
      throw new CofferError(
        "BAD_INPUT",
        `Invalid --grace ${JSON.stringify(g)}: use e.g. 6h, 30m, 90s or 2d`,
      );
    o.graceMs =
      Number(m[1]) *
      { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
        m[2] as "ms" | "s" | "m" | "h" | "d"
      ];
  }
  return o;
}

/** Prints a prune report (human or JSON). */
export function printPruneReport(ctx: CliContext, r: PruneReport): void {
  if (ctx.out.json) {
    ctx.out.data(r);
    return;
  }
  ctx.out.line(`${r.totalPacks} packs, ${r.referencedPacks} referenced by snapshots`);
  if (r.deletedPacks.length > 0 || r.rescued.length > 0) {
    ctx.out.line(
      `deleted ${r.deletedPacks.length} packs (${r.freedBytes} bytes), rewrote ${r.rewrittenIndexes} index object(s), rescued ${r.rescued.length} pack(s) a new backup uses`,
    );
  }
  if (r.orphanManifests > 0)
    ctx.out.line(`deleted ${r.orphanManifests} manifest(s) of forgotten snapshots`);
  if (r.plan !== undefined)
    ctx.out.line(
      `planned ${r.plan.candidates} unreferenced pack(s) (${r.plan.bytes} bytes) for deletion by a prune after ${r.plan.executableAfter} (${r.plan.key})`,
    );
  if (r.waitingPlans > 0)
    ctx.out.line(`${r.waitingPlans} earlier plan(s) still within their grace period`);
  if (r.deletedPacks.length === 0 && r.plan === undefined && r.waitingPlans === 0)
    ctx.out.line("nothing to prune");
}

/** `coffer prune`: two-phase, lock-free removal of unreferenced packs (client-managed repositories). */
export const pruneCommand: Command = {
  name: "prune",
  summary:
    "remove data no snapshot references (two-phase: plan now, delete in a later run after --grace)",
  usage: "prune [--grace 6h] [--dry-run]",
  options: {
    ...pruneOptions,
    "dry-run": { type: "boolean", help: "report only; change nothing" },
  },
  async run(ctx, args) {
    const repo = await ctx.repository();
    if (
      (await repo.storage.head("gateway/pending-deletions.json").catch(() => undefined)) !==
      undefined
    ) {
      throw new CofferError(
        "BAD_INPUT",
        "prune: this repository is behind a coffer gateway, which reclaims space itself (server-side GC)",
      );
    }
    const o = readPruneOptions(args, repo.clock.now());
    if (flag(args, "dry-run")) o.dryRun = true;
    o.onEvent = (m) => {
      ctx.out.info(`prune: ${m}`);
    };
    printPruneReport(ctx, await prune(repo, o));
    return 0;
  },
};
