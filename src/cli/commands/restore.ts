import { resolve } from "node:path";
import { CofferError } from "../../core/errors.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import { restore } from "../../engine/restore/index.ts";
import { flag, str, strs, type Command } from "../command.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes, formatDuration } from "../output.ts";
import { Progress } from "../progress.ts";
import { probeRestoreTarget, reportRestoreErrors } from "../restore-target.ts";
import { filterOptions, readFilter } from "./snapshot-filter.ts";

/** `coffer restore`: restores a snapshot into a directory. */
export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot into a directory",
  usage: "restore SNAPSHOT|latest --target DIR [--include GLOB] [--exclude GLOB]",
  options: {
    target: {
      type: "string",
      short: "t",
      arg: "DIR",
      help: "directory to restore into (required)",
    },
    include: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      help: "restore only paths matching GLOB",
    },
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      help: "do not restore paths matching GLOB",
    },
    ...filterOptions,
  },
  async run(ctx, args) {
    const [ref] = args.positionals;
    if (ref === undefined)
      throw new CofferError("BAD_INPUT", "restore: give a snapshot ID or latest");
    const targetArg = str(args, "target");
    if (targetArg === undefined)
      throw new CofferError("BAD_INPUT", "restore: --target DIR is required");
    const repo = await ctx.repository();
    const { id } = await findSnapshot(repo, ref, readFilter(args, ctx.io.cwd));
    const target = resolve(ctx.io.cwd, targetArg);
    const include = strs(args, "include");
    const exclude = strs(args, "exclude");
    await probeRestoreTarget(target, process.pid);
    const progress = new Progress(ctx.io, ctx.out, "restore");
    const started = ctx.io.clock.now();
    ctx.out.info(`restoring snapshot ${id.slice(0, 8)} to ${target}`);
    progress.start();
    const result = await restore(repo, id, {
      target,
      ...(include.length > 0 ? { include } : {}),
      ...(exclude.length > 0 ? { exclude } : {}),
      signal: ctx.io.signal,
      onProgress: (p) => {
        progress.update({
          files: p.files,
          bytes: p.bytes,
          totalFiles: p.filesTotal,
          totalBytes: p.bytesTotal,
        });
      },
    }).finally(() => {
      progress.done();
    });
    const secs = (ctx.io.clock.now() - started) / 1000;
    reportRestoreErrors(ctx.out, result.errors, flag(args, "verbose"));
    if (ctx.out.json) {
      ctx.out.data({
        message_type: "summary",
        snapshot_id: id,
        files_restored: result.files,
        bytes_restored: result.bytes,
        errors: result.errors,
        total_duration: secs,
      });
    } else {
      ctx.out.summary(
        `restored ${result.files} files, ${formatBytes(result.bytes)} in ${formatDuration(secs)}`,
      );
      if (result.errors.length > 0)
        ctx.out.line(
          `${String(result.errors.length)} file${result.errors.length === 1 ? "" : "s"} could NOT be restored correctly (see the warnings above)`,
        );
    }
    return result.errors.length > 0 ? ExitCode.FATAL : ExitCode.OK;
  },
};
