import { listSnapshots } from "../../engine/browse/index.ts";
import { pendingDeletions } from "../../engine/prune/index.ts";
import type { Command } from "../command.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer snapshots`: lists snapshots. */
export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots",
  usage: "snapshots [--host HOST] [--tag TAG] [--path PATH]",
  options: { ...filterOptions },
  async run(ctx, args) {
    const repo = await ctx.repository();
    const list = await listSnapshots(repo, readFilter(args, ctx.io.cwd));
    const pending = await pendingDeletions(repo.storage); // behind a coffer gateway only
    const deletionOf = (id: string): string | undefined =>
      pending?.get(`snapshots/${id}`)?.executeAfter;
    if (ctx.out.json) {
      ctx.out.data(
        list.map(({ id, snapshot }) => {
          const after = deletionOf(id);
          return {
            id,
            short_id: id.slice(0, 8),
            ...snapshot,
            ...(after !== undefined
              ? { deletion: { state: "pending", execute_after: after } }
              : {}),
          };
        }),
      );
      return 0;
    }
    const rows = list.map(({ id, snapshot: s }) => [
      id.slice(0, 8),
      s.time.replace("T", " ").slice(0, 19),
      s.host,
      s.tags.join(","),
      s.paths.join(", "),
      ...(pending !== undefined
        ? [
            deletionOf(id) !== undefined
              ? `pending, executes ${(deletionOf(id) ?? "").replace("T", " ").slice(0, 16)}`
              : "",
          ]
        : []),
    ]);
    const header = [
      "ID",
      "Time",
      "Host",
      "Tags",
      "Paths",
      ...(pending !== undefined ? ["Deletion"] : []),
    ];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
    );
    const fmt = (r: string[]): string =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd();
    ctx.out.line(fmt(header));
    ctx.out.line("-".repeat(widths.reduce((a, b) => a + b + 2, -2)));
    for (const r of rows) ctx.out.line(fmt(r));
    ctx.out.line("-".repeat(widths.reduce((a, b) => a + b + 2, -2)));
    ctx.out.line(`${list.length} snapshot${list.length === 1 ? "" : "s"}`);
    return 0;
  },
};
