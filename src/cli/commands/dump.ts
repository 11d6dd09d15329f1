import { createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { finished } from "node:stream/promises";
import { CofferError } from "../../core/errors.ts";
import { dump } from "../../engine/browse/index.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import { str, type Command } from "../command.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer dump SNAPSHOT FILE`: writes a file (or a directory as tar) to stdout or a file. */
export const dumpCommand: Command = {
  name: "dump",
  summary: "write a file from a snapshot to stdout (a directory as a tar archive)",
  usage: "dump [--target FILE] SNAPSHOT|latest PATH",
  options: {
    target: {
      type: "string",
      short: "t",
      arg: "FILE",
      help: "write to FILE instead of stdout (required with --json; FILE appears only when complete)",
    },
    ...filterOptions,
  },
  async run(ctx, args) {
    const [ref, path] = args.positionals;
    if (ref === undefined || path === undefined)
      throw new CofferError("BAD_INPUT", "dump: give a snapshot and a path");
    const targetArg = str(args, "target");
    if (ctx.out.json && targetArg === undefined) {
      throw new CofferError(
        "BAD_INPUT",
        "dump --json needs --target FILE: stdout would carry the file's raw bytes",
      );
    }
    const repo = await ctx.repository();
    const { id } = await findSnapshot(repo, ref, readFilter(args, ctx.io.cwd));
    if (targetArg === undefined) {
      const tty = ctx.io.stdout.isTTY === true;
      await dump(repo, id, path, ctx.out.stdout, {
        ...(tty
          ? {
              refuseArchive:
                "refusing to write it to a terminal; redirect stdout or use --target FILE",
            }
          : {}),
      });
      return 0;
    }
    const target = resolve(ctx.io.cwd, targetArg);
    const tmp = join(dirname(target), `.${basename(target)}.coffer-dump-${String(process.pid)}`);
    try {
      const out = createWriteStream(tmp, { flags: "wx", mode: 0o644 });
      const opened = new Promise<void>((ok, fail) => {
        out.once("open", () => {
          ok();
        });
        out.once("error", fail);
      });
      await opened;
      await dump(repo, id, path, out);
      out.end();
      await finished(out);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof CofferError) throw err;
      throw new CofferError("IO", `Cannot write ${target}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const size = (await stat(target)).size;
    if (ctx.out.json)
      ctx.out.data({ message_type: "summary", snapshot_id: id, path, target, bytes: size });
    else ctx.out.info(`wrote ${path} to ${target}`);
    return 0;
  },
};
