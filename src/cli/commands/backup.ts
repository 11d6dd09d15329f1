import { lstat } from "node:fs/promises";
import { resolve } from "node:path";
import { CofferError } from "../../core/errors.ts";
import { backup } from "../../engine/backup/index.ts";
import { backupCommand, backupStream } from "../../engine/backup/index.ts";
import type { BackupResult, BackupWarning } from "../../engine/backup/index.ts";
import { scanTotals } from "../../engine/backup/index.ts";
import { flag, str, strs, type Command } from "../command.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes, formatDuration, plural } from "../output.ts";
import { Progress } from "../progress.ts";
import { reportFailure } from "../report-status.ts";
import { parseTime } from "./parse-time.ts";
import { removeStaleTemp } from "../stale-temp.ts";

/** `coffer backup`: backs up files, stdin, or a command's output. */
export const backupCommandSpec: Command = {
  name: "backup",
  summary: "create a new snapshot of files, stdin, or a command's output",
  usage:
    "backup [options] PATH... | --stdin --stdin-filename NAME | --stdin-from-command [--stdin-filename NAME] -- CMD ARGS...",
  options: {
    tag: {
      type: "string",
      multiple: true,
      arg: "TAG",
      help: "add a tag (repeatable, or comma-separated)",
    },
    host: { type: "string", arg: "HOST", help: "record this host name instead of the machine's" },
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      help: "exclude paths matching GLOB (repeatable)",
    },
    "exclude-file": {
      type: "string",
      multiple: true,
      arg: "FILE",
      help: "read exclude globs from FILE",
    },
    "one-file-system": { type: "boolean", short: "x", help: "do not cross file system boundaries" },
    stdin: { type: "boolean", help: "read the file's contents from stdin" },
    "stdin-filename": {
      type: "string",
      arg: "NAME",
      help: "file name for --stdin (default: stdin)",
    },
    "stdin-from-command": {
      type: "boolean",
      help: "back up the stdout of the command after --; fail if it exits non-zero",
    },
    time: {
      type: "string",
      arg: "TIME",
      help: 'record this snapshot time, e.g. "2026-01-31 23:00:00" (importing history)',
    },
  },
  run(ctx, args) {
    const tags = strs(args, "tag")
      .flatMap((t) => t.split(","))
      .filter((t) => t !== "");
    // A failed run on a coffer-server repository leaves status/<time>.json (a "backup failed" alert).
    return reportFailure(ctx, tags, () => runBackup(ctx, args, tags));
  },
};

async function runBackup(
  ctx: Parameters<Command["run"]>[0],
  args: Parameters<Command["run"]>[1],
  tags: string[],
): Promise<number> {
  {
    const host = str(args, "host") ?? ctx.hostname;
    const timeArg = str(args, "time");
    const time = timeArg !== undefined ? parseTime(timeArg) : undefined;
    const common = { tags, host, ...(time !== undefined ? { time } : {}) };
    const useStdin = flag(args, "stdin");
    const fromCommand = flag(args, "stdin-from-command");
    if (useStdin && fromCommand)
      throw new CofferError("BAD_INPUT", "--stdin and --stdin-from-command exclude each other");
    if ((useStdin || fromCommand) && args.positionals.length > 0) {
      throw new CofferError(
        "BAD_INPUT",
        "paths cannot be given with --stdin or --stdin-from-command",
      );
    }
    if (!useStdin && !fromCommand && args.positionals.length === 0) {
      throw new CofferError(
        "BAD_INPUT",
        "nothing to back up: give at least one PATH, --stdin or --stdin-from-command",
      );
    }
    if (fromCommand && args.rest.length === 0) {
      throw new CofferError(
        "BAD_INPUT",
        "--stdin-from-command needs a command after --, e.g. -- pg_dump shop",
      );
    }
    if (!useStdin && !fromCommand)
      await requireSomePath(args.positionals.map((p) => resolve(ctx.io.cwd, p)));
    const repo = await ctx.repository();
    await removeStaleTemp(ctx, repo.storage);
    const started = ctx.io.clock.now();
    let result: BackupResult;
    let readErrors = 0;
    let skipped = 0;
    if (useStdin || fromCommand) {
      const filename =
        str(args, "stdin-filename") ?? (fromCommand ? (args.rest[0] ?? "stdin") : "stdin");
      if (fromCommand) {
        const [command, ...cmdArgs] = args.rest;
        result = await backupCommand(repo, {
          command: command ?? "",
          args: cmdArgs,
          filename,
          ...common,
          signal: ctx.io.signal,
        });
      } else {
        result = await backupStream(repo, {
          source: ctx.io.stdin as AsyncIterable<Uint8Array>,
          filename,
          ...common,
          signal: ctx.io.signal,
        });
      }
      readErrors = result.warnings;
    } else {
      const paths = args.positionals.map((p) => resolve(ctx.io.cwd, p));
      const selection = {
        excludes: strs(args, "exclude"),
        excludeFiles: strs(args, "exclude-file"),
        oneFileSystem: flag(args, "one-file-system"),
      };
      const progress = new Progress(ctx.io, ctx.out, "backup");
      const scanAbort = new AbortController();
      const stopScan = (): void => {
        scanAbort.abort();
      };
      ctx.io.signal.addEventListener("abort", stopScan, { once: true });
      // -v: what restic -v says: the repository, the scan's totals and the parent snapshot.
      const verbose = flag(args, "verbose");
      if (verbose) {
        ctx.out.info(`open repository ${repo.id.slice(0, 10)} at ${repo.storage.location}`);
        ctx.out.info(`start scan on ${paths.join(", ")}`);
      }
      let scanDone: Promise<void> = Promise.resolve();
      if (progress.active || verbose) {
        if (progress.active) progress.start();
        const scanStarted = ctx.io.clock.now();
        scanDone = scanTotals(paths, {
          ...selection,
          signal: scanAbort.signal,
          onUpdate: (t) => {
            progress.setTotals(t.files, t.bytes);
          },
        }).then((t) => {
          if (scanAbort.signal.aborted) return;
          progress.setTotals(t.files, t.bytes, true);
          if (verbose) {
            progress.clear();
            ctx.out.info(
              `scan finished in ${formatDuration((ctx.io.clock.now() - scanStarted) / 1000)}: ${plural(t.files, "file")}, ${plural(t.dirs, "directory", "directories")}, ${formatBytes(t.bytes)}`,
            );
          }
        });
      }
      try {
        result = await backup(repo, {
          paths,
          ...common,
          ...selection,
          signal: ctx.io.signal,
          onProgress: (p) => {
            progress.update(p);
          },
          onWarning: (w) => {
            progress.clear();
            const kind = warningKind(w);
            if (kind === "error") readErrors++;
            else skipped++;
            ctx.out.warn(describeWarning(w), { path: w.path, kind });
          },
        });
      } finally {
        progress.done();
        // -v reports the scan's totals, so it lets the (lstat-only) scan finish.
        if (verbose && !ctx.io.signal.aborted) await scanDone;
        scanAbort.abort();
        ctx.io.signal.removeEventListener("abort", stopScan);
      }
      if (verbose) {
        const parent = result.snapshot.parent;
        ctx.out.info(
          parent !== undefined
            ? `parent snapshot ${parent.slice(0, 8)}: unchanged files were not read again`
            : "no parent snapshot: every file was read",
        );
      }
    }
    const secs = (ctx.io.clock.now() - started) / 1000;
    const s = result.stats;
    if (ctx.out.json) {
      ctx.out.data({
        message_type: "summary",
        snapshot_id: result.snapshotId,
        parent: result.snapshot.parent ?? null,
        ...s,
        warnings: result.warnings,
        read_errors: readErrors,
        skipped,
        total_duration: secs,
      });
    } else {
      ctx.out.summary(
        `Files:       ${s.newFiles} new, ${s.changedFiles} changed, ${s.unchangedFiles} unmodified`,
      );
      ctx.out.summary(
        `Dirs:        ${s.newDirs} new, ${s.changedDirs} changed, ${s.unchangedDirs} unmodified`,
      );
      ctx.out.summary(
        `Added to the repository: ${formatBytes(s.addedBytes)} (${formatBytes(s.storedBytes)} stored)`,
      );
      ctx.out.summary(
        `processed ${s.files} files, ${formatBytes(s.bytes)} in ${formatDuration(secs)}`,
      );
      ctx.out.summary(`snapshot ${result.snapshotId.slice(0, 8)} saved`);
    }
    if (readErrors > 0) {
      ctx.out.warn(
        `${String(readErrors)} file${readErrors === 1 ? "" : "s"} could not be read; snapshot ${result.snapshotId.slice(0, 8)} is incomplete`,
      );
      return ExitCode.PARTIAL;
    }
    return ExitCode.OK;
  }
}

/**
 * Whether a warning means the snapshot is incomplete (`"error"`, the default: exit 3) or a
 * special file was deliberately skipped (`"skipped"`: exit 0, as restic does for sockets and
 * FIFOs). The engine tags skipped files; the message text is not interpreted.
 */
export function warningKind(w: BackupWarning): "skipped" | "error" {
  return w.kind ?? "error";
}

/** The warning's message, prefixed with its path unless the message already names it. */
function describeWarning(w: BackupWarning): string {
  return w.message.includes(w.path) ? w.message : `${w.path}: ${w.message}`;
}

/** Refuses a backup none of whose paths exist (restic: "all source directories/files do not exist"). */
async function requireSomePath(paths: string[]): Promise<void> {
  const found = await Promise.all(
    paths.map((p) =>
      lstat(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!found.includes(true)) {
    throw new CofferError(
      "NOT_FOUND",
      `Cannot back up: ${paths.length === 1 ? `${paths[0] ?? ""} does not exist` : `none of the ${String(paths.length)} paths exist`}; nothing was saved`,
    );
  }
}
