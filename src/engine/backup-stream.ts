import { spawn } from "node:child_process";
import { CofferError } from "../core/errors.ts";
import { Chunker, gearTable } from "../format/chunker.ts";
import type { TreeNode } from "../format/tree.ts";
import {
  type BackupResult,
  References,
  commitSnapshot,
  currentHost,
  emptyStats,
  snapshotTime,
} from "./backup-commit.ts";
import { DataPipeline } from "./pipeline/data-pipeline.ts";
import type { Repository } from "./repository.ts";

/** Options for {@link backupStream}. */
export interface BackupStreamOptions {
  source: AsyncIterable<Uint8Array>;
  /** Name of the single file in the snapshot (no `/`). */
  filename: string;
  tags?: readonly string[];
  host?: string;
  /** Free-form metadata recorded in the snapshot (e.g. database dump details). */
  meta?: Record<string, string>;
  time?: Date | number | string;
  workers?: number;
  /** Called after the stream ended and before anything is committed; throwing aborts. */
  beforeCommit?: () => Promise<void> | void;
}

/**
 * Backs up a byte stream as a one-file snapshot (`--stdin`, database dumps). The stream is
 * chunked on the main thread (FastCDC, same boundaries as a file) and the chunks are hashed,
 * compressed and sealed by the worker pool. Nothing is committed if the source throws.
 */
export async function backupStream(
  repo: Repository,
  o: BackupStreamOptions,
): Promise<BackupResult> {
  const name = Buffer.from(o.filename, "utf8");
  if (
    name.length === 0 ||
    name.includes(0x2f) ||
    name.includes(0) ||
    o.filename === "." ||
    o.filename === ".."
  ) {
    throw new CofferError("BAD_INPUT", `Invalid stdin file name ${JSON.stringify(o.filename)}`);
  }
  await repo.ensureIndex();
  const time = snapshotTime(repo, o.time);
  const host = o.host ?? currentHost();
  const stats = emptyStats();
  const pipeline = new DataPipeline(repo, o.workers !== undefined ? { workers: o.workers } : {});
  const refs = new References(repo, pipeline.packer);
  try {
    const chunker = new Chunker(gearTable(repo.master.chunkerSeed), repo.config.chunker);
    const max = repo.config.chunker.max;
    let cur = Buffer.allocUnsafe(Math.min(max, 1024 * 1024));
    let fill = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const parts: Promise<{ content: string[] }>[] = [];
    let total = 0;
    const send = async (force: boolean): Promise<void> => {
      if (pending.length === 0 || (!force && pendingBytes < 4 * 1024 * 1024)) return;
      await pipeline.waitForRoom();
      parts.push(pipeline.addChunks(pending));
      pending = [];
      pendingBytes = 0;
    };
    const emit = (len: number): void => {
      // The chunk's buffer is transferred to a worker: give it its own ArrayBuffer.
      const c = new Uint8Array(len);
      c.set(cur.subarray(0, len));
      pending.push(c);
      pendingBytes += len;
      cur.copyWithin(0, len, fill);
      fill -= len;
    };
    chunker.reset();
    for await (const piece of o.source) {
      let off = 0;
      total += piece.length;
      while (off < piece.length) {
        if (fill === cur.length) {
          const bigger = Buffer.allocUnsafe(Math.min(max, cur.length * 2));
          cur.copy(bigger, 0, 0, fill);
          cur = bigger;
        }
        const n = Math.min(cur.length - fill, piece.length - off);
        cur.set(piece.subarray(off, off + n), fill);
        const from = fill;
        fill += n;
        off += n;
        let scan = from;
        for (;;) {
          const c = chunker.next(cur, scan, fill);
          if (c < 0) break;
          emit(c);
          scan = 0;
        }
      }
      await send(false);
    }
    if (fill > 0) emit(fill);
    await send(true);
    const content = (await Promise.all(parts)).flatMap((p) => p.content);
    await pipeline.finish();
    for (const id of content) refs.add("data", id);
    await o.beforeCommit?.();
    const now = BigInt(repo.clock.now()) * 1_000_000n;
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const node: TreeNode = {
      name,
      type: "file",
      mode: 0o644,
      uid,
      gid,
      user: "",
      group: "",
      mtimeNs: now,
      atimeNs: now,
      ctimeNs: now,
      size: total,
      inode: 0n,
      devId: 0n,
      links: 1,
      content,
    };
    const tree = refs.saveTree([node]);
    stats.files = 1;
    stats.newFiles = 1;
    stats.bytes = total;
    stats.processedBytes = total;
    const r = await commitSnapshot(
      repo,
      pipeline.packer,
      refs,
      {
        time,
        host,
        paths: [`/${o.filename}`],
        tags: [...(o.tags ?? [])],
        tree,
        ...(o.meta ? { meta: o.meta } : {}),
      },
      stats,
    );
    return { snapshotId: r.id, snapshot: r.snapshot, stats, warnings: 0, warningList: [] };
  } finally {
    await pipeline.close();
  }
}

/** Options for {@link backupCommand}. */
export interface BackupCommandOptions extends Omit<BackupStreamOptions, "source" | "beforeCommit"> {
  command: string;
  args?: readonly string[];
}

/**
 * Runs `command` and backs up its standard output as one file. When the command exits
 * non-zero or is killed, throws COMMAND_FAILED (with its last stderr line) and commits
 * nothing: no index, snapshot or manifest (uploaded packs stay as unreferenced garbage).
 */
export async function backupCommand(
  repo: Repository,
  o: BackupCommandOptions,
): Promise<BackupResult> {
  const child = spawn(o.command, [...(o.args ?? [])], { stdio: ["ignore", "pipe", "pipe"] });
  let lastErr = "";
  let errTail = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    errTail = (errTail + s).slice(-4096);
    const lines = errTail.split("\n").filter((l) => l.trim() !== "");
    lastErr = lines[lines.length - 1] ?? lastErr;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.on("error", (error) => {
        resolve({ code: null, signal: null, error });
      });
      child.on("close", (code, signal) => {
        resolve({ code, signal });
      });
    },
  );
  const { command, args, ...rest } = o;
  return backupStream(repo, {
    ...rest,
    source: child.stdout,
    beforeCommit: async () => {
      const r = await exited;
      const what = [command, ...(args ?? [])].join(" ");
      if (r.error !== undefined) {
        throw new CofferError("COMMAND_FAILED", `Command ${what} failed: ${r.error.message}`, {
          cause: r.error,
        });
      }
      if (r.code !== 0) {
        const how =
          r.signal !== null ? `was killed by ${r.signal}` : `exited with code ${String(r.code)}`;
        throw new CofferError(
          "COMMAND_FAILED",
          `Command ${what} ${how}${lastErr !== "" ? `: ${lastErr}` : ""}`,
        );
      }
    },
  });
}
