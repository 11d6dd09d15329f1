import { CofferError } from "../../core/errors.ts";
import { prune, type PruneOptions, type PruneReport } from "../../engine/prune/index.ts";
import { parseMaxUnused, parseSize } from "../../engine/prune/index.ts";
import { flag, str, type Command, type OptionSpec, type ParsedArgs } from "../command.ts";
import type { CliContext } from "../context.ts";
import { formatBytes, plural } from "../output.ts";

/** Options shared by `prune` and `forget --prune`. */
export const pruneOptions: Record<string, OptionSpec> = {
  grace: {
    type: "string",
    arg: "DURATION",
    help: "delete planned packs only after this long (default 6h; longer than any backup; e.g. 6h, 30m, 90s)",
  },
  "max-unused": {
    type: "string",
    arg: "LIMIT",
    help: "tolerate this much unused space, repacking partly used packs beyond it: a percentage, a size (k/M/G/T) or unlimited (default 5%)",
  },
  "max-repack-size": {
    type: "string",
    arg: "SIZE",
    help: "repack at most this many bytes of packs per run (k/M/G/T)",
  },
  "repack-small": {
    type: "boolean",
    help: "also repack packs smaller than 80% of the pack size",
  },
};

/** Reads `--grace` into prune options. */
export function readPruneOptions(args: ParsedArgs, now: number): PruneOptions {
  const g = str(args, "grace");
  const o: PruneOptions = { now };
  const mu = str(args, "max-unused");
  if (mu !== undefined) o.maxUnused = parseMaxUnused(mu);
  const mr = str(args, "max-repack-size");
  if (mr !== undefined) o.maxRepackBytes = parseSize(mr, "--max-repack-size");
  if (flag(args, "repack-small")) o.repackSmall = true;
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

/** Unused as a share of all (used + unused) bytes. */
function ratio(unused: number, used: number): string {
  const total = unused + used;
  return `${total === 0 ? "0.0" : ((100 * unused) / total).toFixed(1)}% of all`;
}

/** Prints a prune report (human or JSON). */
export function printPruneReport(ctx: CliContext, r: PruneReport): void {
  if (ctx.out.json) {
    ctx.out.data(r);
    return;
  }
  ctx.out.line(`${r.totalPacks} packs, ${r.referencedPacks} referenced by snapshots`);
  ctx.out.line(
    `used ${formatBytes(r.usedBytes)}, unused ${formatBytes(r.unusedBytes)} (${ratio(r.unusedBytes, r.usedBytes)}), unused after this prune ${formatBytes(r.unusedAfterBytes)} (${ratio(r.unusedAfterBytes, r.usedBytes)})`,
  );
  if (r.repacked.packs > 0)
    ctx.out.line(
      `${r.dryRun ? "would repack" : "repacked"} ${plural(r.repacked.packs, "pack")}: ${plural(r.repacked.blobs, "blob")}, ${formatBytes(r.repacked.bytes)} copied into ${plural(r.repacked.newPacks, "new pack")}`,
    );
  if (r.manifestsRewritten > 0)
    ctx.out.line(
      `${r.dryRun ? "would rewrite" : "rewrote"} ${plural(r.manifestsRewritten, "manifest")}`,
    );
  if (r.deletedPacks.length > 0 || r.rescued.length > 0) {
    ctx.out.line(
      `${r.dryRun ? "would delete" : "deleted"} ${plural(r.deletedPacks.length, "pack")} (${formatBytes(r.freedBytes)}), rewrote ${plural(r.rewrittenIndexes, "index object")}, rescued ${plural(r.rescued.length, "pack")} a new backup uses`,
    );
  }
  if (r.orphanManifests > 0)
    ctx.out.line(`deleted ${plural(r.orphanManifests, "manifest")} of forgotten snapshots`);
  if (r.plan !== undefined)
    ctx.out.line(
      `${r.dryRun ? "would plan" : "planned"} ${plural(r.plan.candidates, "unused or repacked pack")} (${formatBytes(r.plan.bytes)}) for deletion by a prune after ${r.plan.executableAfter}${r.dryRun ? "" : ` (${r.plan.key})`}`,
    );
  if (r.waitingPlans > 0)
    ctx.out.line(
      `${plural(r.waitingPlans, "earlier plan")} still within ${r.waitingPlans === 1 ? "its" : "their"} grace period`,
    );
  if (r.deletedPacks.length === 0 && r.plan === undefined && r.waitingPlans === 0)
    ctx.out.line("nothing to prune");
}

/**
 * `coffer prune`: two-phase removal of unreferenced packs (client-managed repositories). It
 * never blocks backups; it holds the repository's prune lock, so two prunes never run at
 * once (the second refuses with exit 11, naming the holder).
 */
export const pruneCommand: Command = {
  name: "prune",
  summary:
    "remove data no snapshot references, repacking partly used packs (two-phase: plan now, delete in a later run after --grace)",
  usage:
    "prune [--max-unused 5%] [--max-repack-size SIZE] [--repack-small] [--grace 6h] [--dry-run]",
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
    // SIGINT/SIGTERM: the prune stops at its next storage step and releases its lock (exit 130).
    o.signal = ctx.io.signal;
    printPruneReport(ctx, await prune(repo, o));
    return 0;
  },
};
