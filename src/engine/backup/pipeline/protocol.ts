import type { BlobTableHandle } from "../../../format/blob-table.ts";
import type { ChunkerParams } from "../../../format/chunker.ts";

/** Start-up data of a chunk worker. */
export interface ChunkWorkerData {
  /** Serialised master key (96 bytes). */
  master: Uint8Array;
  chunker: ChunkerParams;
  /** Read-only snapshot of the repository's blob table (known blobs are not re-encoded). */
  table: BlobTableHandle;
  /** Int32[0] = sealed bytes posted to the main thread and not yet uploaded (backpressure). */
  credit: SharedArrayBuffer;
  /** A worker waits before posting while the credit counter is above this. */
  creditLimit: number;
}

/** A file for a worker to read, chunk and encode. */
export interface FileTask {
  /** Raw path bytes. */
  path: Uint8Array;
}

/** Work for a chunk worker. */
export type ChunkJob =
  | { kind: "files"; files: FileTask[] }
  | { kind: "chunks"; chunks: Uint8Array[] }
  /**
   * Consecutive chunks of a stream, cut on the main thread, in one transferred buffer:
   * chunk `i` is `buf[cuts[i - 1] ?? 0, cuts[i])`. The worker transfers `buf` back (in
   * `PartReply.back`) when it is done with it, so the producer reuses its buffers.
   */
  | { kind: "stream"; buf: Uint8Array; cuts: number[] };

/**
 * One result item. `f` is the file (or chunk) number in the job. A blob item has `id`:
 * `k` 0 = newly encoded (with `s`, the sealed bytes), 1 = already in the repository index,
 * 2 = encoded earlier by this same worker (its sealed bytes were already posted).
 * An end item closes file `f` with the bytes read or an error message.
 */
export type ChunkItem =
  | { f: number; id: Uint8Array; raw: number; fl: number; k: 0 | 1 | 2; s?: Uint8Array }
  | { f: number; end: true; size: number; err?: string };

/** A streamed reply carrying items. */
export interface PartReply {
  t: "part";
  jobId: number;
  items: ChunkItem[];
  /** A stream job's buffer, handed back for reuse (last part of the job). */
  back?: ArrayBuffer;
}
