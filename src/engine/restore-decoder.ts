import { availableParallelism } from "node:os";
import { CofferError, type ErrorCode } from "../core/errors.ts";
import { masterKeyToBytes, type MasterKey } from "../format/master-key.ts";
import { WorkerPool, type WorkerReply } from "./pipeline/worker-pool.ts";

/** A decode job: a range's bytes and its blobs as `[id, start, length, flags, rawLength]`. */
export interface DecodeJob {
  bytes: ArrayBuffer;
  blobs: [string, number, number, number, number][];
}

const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./restore-worker.ts" : "./restore-worker.js", import.meta.url);

/** Decodes ranges of blobs on worker threads (decryption + zstd + ID check). */
export class RestoreDecoder {
  readonly #pool: WorkerPool;

  constructor(master: MasterKey, workers = Math.max(1, availableParallelism())) {
    this.#pool = new WorkerPool(WORKER_URL, masterKeyToBytes(master), { size: workers, depth: 2 });
  }

  /**
   * Decodes every blob of a range; the result holds, per blob, the plaintext or the error.
   * `bytes` is transferred to the worker (unusable afterwards).
   */
  async decode(bytes: Uint8Array, blobs: DecodeJob["blobs"]): Promise<(Buffer | CofferError)[]> {
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    const buf = own.buffer as ArrayBuffer;
    const out: (Buffer | CofferError)[] = new Array<Buffer | CofferError>(blobs.length);
    await this.#pool.run({ bytes: buf, blobs } satisfies DecodeJob, [buf], (m: WorkerReply) => {
      const r = m as WorkerReply & { index: number; raw?: ArrayBuffer; code?: ErrorCode };
      out[r.index] = m.t === "blob" ? Buffer.from(r.raw!) : new CofferError(r.code ?? "CORRUPT", m.message ?? "Cannot read blob");
    });
    return out;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
