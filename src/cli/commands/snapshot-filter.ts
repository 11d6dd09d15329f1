import { resolve } from "node:path";
import { CofferError } from "../../core/errors.ts";
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

/**
 * `[--job NAME | SNAPSHOT]` of commands that act on one snapshot of an agent job (drill,
 * mirror): the job, the snapshot reference (`latest` by default), and the filter, narrowed to
 * the job's `job:NAME` tag when a job is given.
 * @throws CofferError BAD_INPUT for two snapshots, or a job and a snapshot together.
 */
export function readJobOrSnapshot(
  args: ParsedArgs,
  cwd: string,
  verb: string,
): { job: string | undefined; ref: string; filter: SnapshotFilterArgs } {
  const job = str(args, "job");
  const [ref, extra] = args.positionals;
  if (extra !== undefined) throw new CofferError("BAD_INPUT", `${verb}: give one snapshot`);
  if (job !== undefined && ref !== undefined)
    throw new CofferError("BAD_INPUT", `${verb}: give --job NAME or a snapshot, not both`);
  const filter = readFilter(args, cwd);
  return {
    job,
    ref: ref ?? "latest",
    filter: job !== undefined ? { ...filter, tags: [[`job:${job}`]] } : filter,
  };
}
