// Worker thread of the backup pipeline: reads files into one reused buffer, cuts them with
// FastCDC, hashes every chunk (HMAC-SHA256), and compresses + seals only chunks that are
// neither in the repository index (shared read-only BlobTable) nor already encoded by this
// worker. Results stream back in parts; sealed bytes are transferred, never copied.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { fromSystemError } from "../../../core/errors.ts";
import { BlobTable } from "../../../format/blob-table.ts";
import { FLAG_ZSTD } from "../../../format/blob.ts";
import { Chunker, gearTable } from "../../../format/chunker.ts";
import { compressBlobTransient } from "../../../format/compress.ts";
import { blobId } from "../../../format/ids.ts";
import { masterKeyFromBytes } from "../../../format/master-key.ts";
import { seal } from "../../../format/seal.ts";
import type { ChunkItem, ChunkJob, ChunkWorkerData } from "./protocol.ts";

const data = workerData as ChunkWorkerData;
const master = masterKeyFromBytes(data.master);
const table = BlobTable.fromShared(data.table);
const chunker = new Chunker(gearTable(master.chunkerSeed), data.chunker);
const credit = new Int32Array(data.credit);
const random = (n: number): Uint8Array => randomBytes(n);

/** Read size: 1 MiB per `read(2)`. */
const READ = 1024 * 1024;
/** One buffer holds the unfinished chunk (< max) plus one read. */
const buf = Buffer.allocUnsafeSlow(data.chunker.max + READ);
/** Flush a part after this many sealed bytes or items (small parts: less memory in flight). */
const PART_BYTES = 1024 * 1024;
const PART_ITEMS = 512;
/** IDs this worker already encoded in this run (bounded; clearing only costs extra work). */
const seen = new Set<string>();
const SEEN_MAX = 1_000_000;

let jobId = 0;
let items: ChunkItem[] = [];
let transfer: ArrayBuffer[] = [];
let partBytes = 0;

function flush(): void {
  if (items.length === 0) return;
  // Backpressure: wait while too many sealed bytes are queued or uploading on the main thread.
  if (partBytes > 0) {
    for (;;) {
      const cur = Atomics.load(credit, 0);
      if (cur <= data.creditLimit) break;
      Atomics.wait(credit, 0, cur, 200);
    }
    Atomics.add(credit, 0, partBytes);
  }
  parentPort!.postMessage({ t: "part", jobId, items }, transfer);
  items = [];
  transfer = [];
  partBytes = 0;
}

/** Copies `b` into a fresh, exactly-sized ArrayBuffer unless it already owns one. */
function owned(b: Uint8Array): Uint8Array {
  if (
    b.byteOffset === 0 &&
    b.byteLength === b.buffer.byteLength &&
    !(b.buffer instanceof SharedArrayBuffer)
  )
    return b;
  return new Uint8Array(b);
}

function emitChunk(f: number, chunk: Uint8Array): void {
  const id = blobId(master.macKey, chunk);
  if (table.has("data", id)) {
    items.push({ f, id, raw: chunk.length, fl: 0, k: 1 });
  } else {
    const hex = id.toString("hex");
    if (seen.has(hex)) {
      items.push({ f, id, raw: chunk.length, fl: 0, k: 2 });
    } else {
      if (seen.size >= SEEN_MAX) seen.clear();
      seen.add(hex);
      // The compressed body lives in a reused scratch buffer until seal() copies it.
      const { data: body, compressed } = compressBlobTransient(chunk);
      const s = owned(seal(master.encKey, "blob/data", body, random));
      transfer.push(s.buffer as ArrayBuffer);
      partBytes += s.length;
      items.push({ f, id, raw: chunk.length, fl: compressed ? FLAG_ZSTD : 0, k: 0, s });
    }
  }
  if (partBytes >= PART_BYTES || items.length >= PART_ITEMS) flush();
}

function processFile(f: number, path: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), "r");
  } catch (err) {
    items.push({
      f,
      end: true,
      size: 0,
      err: fromSystemError(err, `Cannot open ${Buffer.from(path).toString()}`).message,
    });
    return;
  }
  let total = 0;
  try {
    chunker.reset();
    let fill = 0;
    let start = 0;
    let scan = 0;
    for (;;) {
      if (buf.length - fill < READ) {
        buf.copyWithin(0, start, fill);
        fill -= start;
        scan -= start;
        start = 0;
      }
      const n = readSync(fd, buf, fill, buf.length - fill < READ ? buf.length - fill : READ, null);
      if (n === 0) break;
      fill += n;
      total += n;
      for (;;) {
        const c = chunker.next(buf, scan, fill);
        if (c < 0) {
          scan = fill;
          break;
        }
        emitChunk(f, buf.subarray(start, c));
        start = scan = c;
      }
    }
    if (fill > start) emitChunk(f, buf.subarray(start, fill));
    items.push({ f, end: true, size: total });
  } catch (err) {
    items.push({
      f,
      end: true,
      size: total,
      err: fromSystemError(err, `Cannot read ${Buffer.from(path).toString()}`).message,
    });
  } finally {
    closeSync(fd);
  }
}

parentPort!.on("message", (msg: { jobId: number; payload: ChunkJob }) => {
  jobId = msg.jobId;
  try {
    const job = msg.payload;
    if (job.kind === "files") {
      job.files.forEach((t, i) => {
        processFile(i, t.path);
      });
    } else if (job.kind === "chunks") {
      job.chunks.forEach((c, i) => {
        emitChunk(i, c);
        items.push({ f: i, end: true, size: c.length });
      });
    } else {
      let from = 0;
      job.cuts.forEach((to, i) => {
        emitChunk(i, job.buf.subarray(from, to));
        items.push({ f: i, end: true, size: to - from });
        from = to;
      });
    }
    flush();
    if (job.kind === "stream") {
      // Hand the buffer back (sealed blobs were copies, nothing refers to it any more).
      const back = job.buf.buffer as ArrayBuffer;
      parentPort!.postMessage({ t: "part", jobId, items: [], back }, [back]);
    }
    parentPort!.postMessage({ t: "done", jobId });
  } catch (err) {
    items = [];
    transfer = [];
    partBytes = 0;
    parentPort!.postMessage({
      t: "error",
      jobId,
      message: err instanceof Error ? err.message : String(err),
    });
  }
});
