import { spawn } from "node:child_process";
import { CofferError, isCofferError } from "../../core/errors.ts";
import { Chunker, gearTable } from "../../format/chunker.ts";
import type { TreeNode } from "../../format/tree.ts";
import {
  type BackupResult,
  References,
  commitSnapshot,
  currentHost,
  emptyStats,
  snapshotTime,
  throwIfInterrupted,
} from "./commit.ts";
import { DataPipeline } from "./pipeline/data-pipeline.ts";
import { assertAllStored, readPipe } from "./pipe-source.ts";
import type { Repository } from "../repository/index.ts";

/** Cut chunks gathered before a batch goes to a worker. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Room for stream pieces beyond a batch or an unfinished chunk. */
const PIECE_ROOM = 2 * 1024 * 1024;
/** Size of a reusable batch buffer. */
const BUFFER_SIZE = BATCH_BYTES + PIECE_ROOM;
/** Returned buffers kept for reuse (one per job in flight is enough). */
const SPARE_BUFFERS = 6;

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
  /**
   * Called after the stream ended and before anything is committed, with the number of bytes
   * stored; throwing aborts.
   */
  beforeCommit?: (stored: { bytes: number }) => Promise<void> | void;
  /** Aborting stops the backup with INTERRUPTED; nothing is committed. */
  signal?: AbortSignal;
}

/**
 * Backs up a byte stream as a one-file snapshot (`--stdin`, database dumps). The stream is
 * chunked on the main thread (FastCDC, same boundaries as a file) into reused batch buffers;
 * each batch goes to the worker pool (hash, dedup check, compress, seal) as one transferred
 * buffer plus cut offsets. Nothing is committed if the source throws.
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
  await repo.ensureIndex({ verifyPacks: true }); // never deduplicate against a missing pack (ADR 0013)
  throwIfInterrupted(o.signal);
  const time = snapshotTime(repo, o.time);
  const host = o.host ?? currentHost();
  const stats = emptyStats();
  const pipeline = new DataPipeline(repo, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const refs = new References(repo, pipeline.packer);
  let committed = false;
  try {
    const chunker = new Chunker(gearTable(repo.master.chunkerSeed), repo.config.chunker);
    const max = repo.config.chunker.max;
    const parts: Promise<{ content: string[] }>[] = [];
    let total = 0;
    let stored = 0; // bytes handed to the pipeline, summed from the chunks' cut offsets
    // Stream bytes are copied once, into a batch buffer, and chunked in place. A batch of
    // cut chunks (≥ 4 MiB) is transferred to a worker as one buffer with its cut offsets
    // and comes back for reuse; only the unfinished chunk's tail is copied to the next one.
    const spare: ArrayBuffer[] = [];
    const fresh = (min: number): Buffer => {
      const ab = min <= BUFFER_SIZE ? spare.pop() : undefined;
      return ab !== undefined
        ? Buffer.from(ab)
        : Buffer.allocUnsafeSlow(Math.max(BUFFER_SIZE, min));
    };
    const giveBack = (ab: ArrayBuffer): void => {
      if (ab.byteLength === BUFFER_SIZE && spare.length < SPARE_BUFFERS) spare.push(ab);
    };
    let buf = fresh(0);
    let fill = 0;
    let last = 0; // end of the last cut chunk in buf
    let cuts: number[] = [];
    const send = async (): Promise<void> => {
      const tail = fill - last;
      const next = fresh(tail + PIECE_ROOM);
      buf.copy(next, 0, last, fill);
      const batch = buf;
      const batchCuts = cuts;
      buf = next;
      fill = tail;
      last = 0;
      cuts = [];
      stored += batchCuts.at(-1) ?? 0;
      await pipeline.waitForRoom(1);
      const part = pipeline.addStreamChunks(batch, batchCuts, giveBack);
      // A failure surfaces through waitForRoom/finish; keep it from escaping unawaited.
      part.catch(() => undefined);
      parts.push(part);
    };
    chunker.reset();
    for await (const piece of o.source) {
      throwIfInterrupted(o.signal);
      let off = 0;
      total += piece.length;
      while (off < piece.length) {
        if (fill === buf.length) {
          if (cuts.length > 0) {
            await send();
          } else {
            // One chunk fills the buffer (chunks reach `max`): grow, keep it contiguous.
            const bigger = Buffer.allocUnsafeSlow(Math.min(2 * buf.length, max + PIECE_ROOM));
            buf.copy(bigger, 0, 0, fill);
            buf = bigger;
          }
        }
        const n = Math.min(buf.length - fill, piece.length - off);
        buf.set(piece.subarray(off, off + n), fill);
        let scan = fill;
        fill += n;
        off += n;
        for (;;) {
          const c = chunker.next(buf, scan, fill);
          if (c < 0) break;
          cuts.push(c);
          last = scan = c;
        }
        if (last >= BATCH_BYTES) await send();
      }
    }
    if (fill > last) cuts.push(fill);
    last = fill;
    if (cuts.length > 0) await send();
    throwIfInterrupted(o.signal);
    const content = (await Promise.all(parts)).flatMap((p) => p.content);
    await pipeline.finish();
    throwIfInterrupted(o.signal);
    for (const id of content) refs.add("data", id);
    if (stored !== total) {
      throw new CofferError(
        "CORRUPT",
        `Cannot back up ${o.filename}: read ${String(total)} bytes but stored ${String(stored)}; nothing was committed`,
      );
    }
    await o.beforeCommit?.({ bytes: stored });
    throwIfInterrupted(o.signal);
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
      o.signal,
    );
    committed = true;
    return { snapshotId: r.id, snapshot: r.snapshot, stats, warnings: 0, warningList: [] };
  } catch (err) {
    if (!committed) await pipeline.abandon(err);
    throw err;
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
  // Read from now on: see PipeSource for the bytes Node drops otherwise.
  const out = readPipe(child.stdout);
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
  // Interrupted (or failed): stop the command too, so it does not block on a full pipe.
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  // Aborted: the command's own children may hold its pipes open after it is killed, so stop
  // reading them too (else the backup waits for them to exit).
  const interrupt = (): void => {
    stop();
    out.discard();
    child.stderr.destroy();
  };
  o.signal?.addEventListener("abort", interrupt, { once: true });
  return backupStream(repo, {
    ...rest,
    source: out,
    beforeCommit: async (stored) => {
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
      assertAllStored(`Command ${what}`, out.bytes, stored.bytes);
    },
  }).then(
    (r) => {
      o.signal?.removeEventListener("abort", interrupt);
      return r;
    },
    (err: unknown) => {
      o.signal?.removeEventListener("abort", interrupt);
      stop();
      out.discard();
      if (o.signal?.aborted === true && !isCofferError(err, "INTERRUPTED"))
        throw new CofferError("INTERRUPTED", "Backup interrupted: nothing was committed", {
          cause: err,
        });
      throw err;
    },
  );
}
