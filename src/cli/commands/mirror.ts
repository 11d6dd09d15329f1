import { resolve } from "node:path";
import { runHook } from "../../agent/hooks.ts";
import { CofferError } from "../../core/errors.ts";
import { findSnapshot } from "../../engine/browse/index.ts";
import { mirror } from "../../mirror/mirror.ts";
import { str, type Command } from "../command.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes } from "../output.ts";
import { filterOptions, readJobOrSnapshot } from "./snapshot-filter.ts";

/** `coffer mirror`: keeps a standby copy identical to the latest snapshot. */
export const mirrorCommand: Command = {
  name: "mirror",
  summary:
    "keep a standby copy identical to the latest snapshot (only changes written, atomic switch)",
  usage: "mirror [--job NAME | SNAPSHOT] --to DIR [--post-mirror CMD]",
  options: {
    job: { type: "string", arg: "NAME", help: "mirror the latest snapshot of this agent job" },
    to: { type: "string", arg: "DIR", help: "the standby directory (required)" },
    "post-mirror": {
      type: "string",
      arg: "CMD",
      help: "shell command run after the switch (a health check); its result is part of the report",
    },
    "hook-timeout": { type: "string", arg: "SECONDS", help: "post-mirror timeout (default 300)" },
    ...filterOptions,
  },
  async run(ctx, args) {
    const { ref, filter } = readJobOrSnapshot(args, ctx.io.cwd, "mirror");
    const to = str(args, "to");
    if (to === undefined) throw new CofferError("BAD_INPUT", "mirror: --to DIR is required");
    const timeoutArg = str(args, "hook-timeout") ?? "300";
    const timeout = Number(timeoutArg);
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new CofferError(
        "BAD_INPUT",
        `mirror: invalid --hook-timeout ${JSON.stringify(timeoutArg)}`,
      );
    const repo = await ctx.repository();
    const found = await findSnapshot(repo, ref, filter);
    const root = resolve(ctx.io.cwd, to);
    const started = ctx.io.clock.now();
    const r = await mirror(repo, found, root, ctx.io.signal);
    const seconds = (ctx.io.clock.now() - started) / 1000;
    for (const w of r.warnings) ctx.out.warn(w);
    const post = str(args, "post-mirror");
    const hook =
      post === undefined
        ? undefined
        : await runHook(
            { run: post, timeoutMs: timeout * 1000 },
            {
              COFFER_MIRROR_DIR: root,
              COFFER_SNAPSHOT: found.id,
              COFFER_MIRROR_CHANGED: r.changed ? "1" : "0",
            },
            ctx.io.signal,
          );
    if (ctx.out.json) {
      ctx.out.data({
        message_type: "mirror",
        snapshot_id: r.snapshotId,
        snapshot_time: r.snapshotTime,
        changed: r.changed,
        generation: r.gen,
        links: r.links,
        files_written: r.filesWritten,
        files_copied: r.filesCopied,
        files_linked: r.filesLinked,
        bytes_written: r.bytesWritten,
        dirs: r.dirs,
        symlinks: r.symlinks,
        warnings: r.warnings,
        seconds,
        ...(hook !== undefined
          ? { post_mirror: { ok: hook.ok, detail: hook.detail, output: hook.output } }
          : {}),
      });
    } else {
      ctx.out.summary(
        r.changed
          ? `mirrored snapshot ${r.snapshotId.slice(0, 8)} to ${root}: ${String(r.filesWritten)} files written, ${String(r.filesCopied)} copied, ${String(r.filesLinked)} unchanged; ${formatBytes(r.bytesWritten)} written`
          : `mirror ${root} already shows snapshot ${r.snapshotId.slice(0, 8)}: nothing written`,
      );
      if (hook !== undefined) {
        for (const l of hook.output) ctx.out.line(`post-mirror | ${l}`);
        ctx.out.line(`post-mirror: ${hook.ok ? "ok" : `FAILED (${hook.detail})`}`);
      }
    }
    return hook === undefined || hook.ok ? ExitCode.OK : ExitCode.FATAL;
  },
};
