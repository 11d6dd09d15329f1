import { resolve } from "node:path";
import type { OptionSpec, ParsedArgs } from "../command.ts";
import { str, strs } from "../command.ts";

/** `--host`, `--tag`, `--path` filter options shared by snapshot-selecting commands. */
export const filterOptions: Record<string, OptionSpec> = {
  host: { type: "string", arg: "HOST", help: "only snapshots of this host" },
  tag: {
    type: "string",
    multiple: true,
    arg: "TAG[,TAG]",
    help: "only snapshots with these tags (repeat for OR)",
  },
  path: { type: "string", multiple: true, arg: "PATH", help: "only snapshots including this path" },
};

/** A snapshot filter built from the options. */
export interface SnapshotFilterArgs {
  host?: string;
  tags?: string[][];
  paths?: string[];
}

/** Reads the filter options. */
export function readFilter(args: ParsedArgs, cwd: string): SnapshotFilterArgs {
  const host = str(args, "host");
  const tags = strs(args, "tag").map((t) => t.split(",").filter((x) => x !== ""));
  const paths = strs(args, "path").map((p) => resolve(cwd, p));
  return {
    ...(host !== undefined ? { host } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    ...(paths.length > 0 ? { paths } : {}),
  };
}
