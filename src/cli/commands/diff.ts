import { CofferError } from "../../core/errors.ts";
import { diff } from "../../engine/browse/index.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import type { Command } from "../command.ts";
import { displayPath, jsonPath } from "../paths.ts";

/** `coffer diff A B`: what changed between two snapshots. */
export const diffCommand: Command = {
  name: "diff",
  summary: "show differences between two snapshots",
  usage: "diff SNAPSHOT-A SNAPSHOT-B",
  options: {},
  async run(ctx, args) {
    const [a, b] = args.positionals;
    if (a === undefined || b === undefined)
      throw new CofferError("BAD_INPUT", "diff: give two snapshots");
    const repo = await ctx.repository();
    const sa = await findSnapshot(repo, a);
    const sb = await findSnapshot(repo, b);
    const counts: Record<"+" | "-" | "M" | "T", number> = { "+": 0, "-": 0, M: 0, T: 0 };
    for await (const d of diff(repo, sa.id, sb.id)) {
      counts[d.change]++;
      if (ctx.out.json)
        ctx.out.data({ message_type: "change", change: d.change, ...jsonPath(d.path) });
      else
        ctx.out.stdout.write(
          Buffer.concat([Buffer.from(`${d.change}    `), displayPath(d.path), Buffer.from("\n")]),
        );
    }
    if (ctx.out.json)
      ctx.out.data({
        message_type: "statistics",
        added: counts["+"],
        removed: counts["-"],
        modified: counts.M,
        type_changed: counts.T,
      });
    else
      ctx.out.line(
        `\n${counts["+"]} added, ${counts["-"]} removed, ${counts.M} modified, ${counts.T} changed type`,
      );
    return 0;
  },
};
