import { findSnapshot } from "../../engine/browse/index.ts";
import { ls } from "../../engine/browse/index.ts";
import { CofferError } from "../../core/errors.ts";
import { flag, type Command } from "../command.ts";
import { displayPath, jsonPath } from "../paths.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer ls`: lists files in a snapshot. */
export const lsCommand: Command = {
  name: "ls",
  summary: "list files in a snapshot",
  usage: "ls [--long] SNAPSHOT|latest [PATH]",
  options: {
    long: { type: "boolean", short: "l", help: "show mode, owner, size and modification time" },
    ...filterOptions,
  },
  async run(ctx, args) {
    const [ref, path] = args.positionals;
    if (ref === undefined) throw new CofferError("BAD_INPUT", "ls: give a snapshot ID or latest");
    const repo = await ctx.repository();
    const { id } = await findSnapshot(repo, ref, readFilter(args, ctx.io.cwd));
    const long = flag(args, "long");
    for await (const entry of ls(repo, id, path)) {
      const n = entry.node;
      if (ctx.out.json) {
        ctx.out.data({
          ...jsonPath(entry.path),
          type: n.type,
          mode: n.mode,
          uid: n.uid,
          gid: n.gid,
          user: n.user,
          group: n.group,
          size: n.size,
          mtime_ns: String(n.mtimeNs),
        });
        continue;
      }
      const p = displayPath(entry.path);
      if (!long) {
        ctx.out.stdout.write(Buffer.concat([p, Buffer.from("\n")]));
        continue;
      }
      const mtime = new Date(Number(n.mtimeNs / 1000000n))
        .toISOString()
        .replace("T", " ")
        .slice(0, 19);
      const prefix = `${modeString(n.type, n.mode)} ${(n.user || String(n.uid)).padEnd(8)} ${(n.group || String(n.gid)).padEnd(8)} ${String(n.size).padStart(12)} ${mtime} `;
      ctx.out.stdout.write(Buffer.concat([Buffer.from(prefix), p, Buffer.from("\n")]));
    }
    return 0;
  },
};

/** `ls -l` style mode string. */
export function modeString(type: string, mode: number): string {
  const t =
    type === "dir"
      ? "d"
      : type === "symlink"
        ? "l"
        : type === "dev"
          ? "b"
          : type === "chardev"
            ? "c"
            : "-";
  const bits = "rwxrwxrwx";
  let s = "";
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits.charAt(i) : "-";
  return t + s;
}
