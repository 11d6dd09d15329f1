import { CofferError } from "../../core/errors.ts";
import { dump } from "../../engine/dump.ts";
import { findSnapshot } from "../../engine/find-snapshot.ts";
import type { Command } from "../command.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer dump SNAPSHOT FILE`: writes a file (or a directory as tar) to stdout. */
export const dumpCommand: Command = {
  name: "dump",
  summary: "write a file from a snapshot to stdout (a directory as a tar archive)",
  usage: "dump SNAPSHOT|latest PATH",
  options: { ...filterOptions },
  async run(ctx, args) {
    const [ref, path] = args.positionals;
    if (ref === undefined || path === undefined) throw new CofferError("BAD_INPUT", "dump: give a snapshot and a path");
    const repo = await ctx.repository();
    const { id } = await findSnapshot(repo, ref, readFilter(args, ctx.io.cwd));
    await dump(repo, id, path, ctx.out.stdout);
    return 0;
  },
};
