import { CofferError } from "../../core/errors.ts";
import {
  repairIndex,
  repairSnapshots,
  type RepairIndexReport,
  type RepairSnapshotsReport,
} from "../../engine/repair/index.ts";
import { flag, type Command } from "../command.ts";
import type { CliContext } from "../context.ts";

const short = (id: string): string => id.slice(0, 8);

function printIndexReport(ctx: CliContext, r: RepairIndexReport): void {
  if (ctx.out.json) {
    ctx.out.data({ message_type: "summary", ...r });
    return;
  }
  for (const d of r.damagedIndexes) ctx.out.line(`damaged index ${short(d.id)}: ${d.message}`);
  for (const id of r.removedPacks)
    ctx.out.line(`pack ${short(id)} is missing: its blobs are no longer indexed`);
  for (const p of r.invalidPacks)
    ctx.out.line(`pack ${short(p.id)} left out of the index: ${p.message}`);
  for (const p of r.salvaged)
    ctx.out.line(
      `pack ${short(p.id)} is damaged (${p.message}): left out of the index, ${String(p.kept)} intact blob(s) ${r.dryRun ? "to be copied" : "copied"} to new packs, ${String(p.lost)} lost`,
    );
  if (r.rebuiltPacks.length > 0)
    ctx.out.line(`${String(r.rebuiltPacks.length)} pack(s) indexed from their headers`);
  if (r.unchanged) {
    ctx.out.line(`index is complete: ${String(r.packs)} packs, nothing to repair`);
    return;
  }
  const verb = r.dryRun ? "would write" : "wrote";
  ctx.out.line(
    `${verb} a new index of ${String(r.packs)} packs replacing ${String(r.oldIndexes)} index object(s)${r.dryRun ? "" : ` (${String(r.deletedIndexes)} deleted${r.pendingIndexDeletions > 0 ? `, ${String(r.pendingIndexDeletions)} pending deletion at the gateway, superseded meanwhile` : ""})`}`,
  );
  if (r.removedPacks.length + r.salvaged.length > 0 && !r.dryRun)
    ctx.out.line(
      "next: run coffer backup (data still on disk is uploaded again), then coffer repair snapshots --forget",
    );
}

function printSnapshotsReport(ctx: CliContext, r: RepairSnapshotsReport, forget: boolean): void {
  if (ctx.out.json) {
    ctx.out.data({ message_type: "summary", ...r });
    return;
  }
  for (const d of r.damaged) {
    if (d.lost !== undefined)
      ctx.out.line(`snapshot ${short(d.id)}: nothing can be saved: ${d.lost}`);
    else ctx.out.line(`snapshot ${short(d.id)}: ${String(d.paths.length)} damaged path(s):`);
    for (const p of d.paths) ctx.out.line(`  ${p.path}: ${p.what}`);
    if (d.newId !== undefined) ctx.out.line(`  saved as repaired snapshot ${short(d.newId)}`);
    const f = d.forgotten;
    if (f?.state === "removed") ctx.out.line(`  forgot snapshot ${short(d.id)}`);
    else if (f?.state === "pending")
      ctx.out.line(
        `  snapshot ${short(d.id)}: deletion pending at the gateway, executes after ${f.executeAfter ?? "?"}`,
      );
  }
  for (const id of r.manifestsRewritten)
    ctx.out.line(
      `snapshot ${short(id)}: manifest ${r.dryRun ? "would be " : ""}rewritten (it named a missing pack or omitted one the snapshot uses)`,
    );
  const n = r.damaged.length;
  if (n === 0) ctx.out.line(`checked ${String(r.checked)} snapshots: none is damaged`);
  else if (r.dryRun)
    ctx.out.line(
      `dry run: ${String(n)} of ${String(r.checked)} snapshots are damaged, nothing was written`,
    );
  else {
    ctx.out.line(
      `repaired ${String(r.damaged.filter((d) => d.newId !== undefined).length)} of ${String(n)} damaged snapshots`,
    );
    if (!forget)
      ctx.out.line("the damaged originals are kept: coffer repair snapshots --forget removes them");
  }
}

/** `coffer repair index|snapshots`: heal a damaged repository (restic's `repair` verbs). */
export const repairCommand: Command = {
  name: "repair",
  summary:
    "rebuild the index from the stored packs, or rewrite damaged snapshots without what is lost",
  usage: "repair index [--read-all-packs] [--dry-run] | repair snapshots [--forget] [--dry-run]",
  options: {
    "dry-run": { type: "boolean", help: "say what would change; write and delete nothing" },
    forget: {
      type: "boolean",
      help: "repair snapshots: forget each damaged original once its repaired copy is saved",
    },
    "read-all-packs": {
      type: "boolean",
      help: "repair index: rebuild every pack's entry from its header, not only missing ones",
    },
  },
  async run(ctx, args) {
    const [sub, extra] = args.positionals;
    if (extra !== undefined || (sub !== "index" && sub !== "snapshots"))
      throw new CofferError(
        "BAD_INPUT",
        `repair: expected "index" or "snapshots", got "${args.positionals.join(" ")}" (see coffer repair --help)`,
      );
    if (sub === "index" && flag(args, "forget"))
      throw new CofferError("BAD_INPUT", "repair index: --forget applies to repair snapshots");
    if (sub === "snapshots" && flag(args, "read-all-packs"))
      throw new CofferError(
        "BAD_INPUT",
        "repair snapshots: --read-all-packs applies to repair index",
      );
    const repo = await ctx.repository();
    const dryRun = flag(args, "dry-run");
    const onEvent = (m: string): void => {
      ctx.out.info(m);
    };
    if (sub === "index") {
      const r = await repairIndex(repo, {
        dryRun,
        readAllPacks: flag(args, "read-all-packs"),
        onEvent,
      });
      printIndexReport(ctx, r);
      return 0;
    }
    const forget = flag(args, "forget");
    const r = await repairSnapshots(repo, { dryRun, forget });
    printSnapshotsReport(ctx, r, forget);
    return 0;
  },
};
