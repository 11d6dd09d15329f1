import { CofferError } from "../../core/errors.ts";
import { masterKeyToBytes, type MasterKey } from "../../format/master-key.ts";
import { WorkerPool, type WorkerReply } from "../../core/worker-pool.ts";
import { checkBlobId, type DecodeJob, type DecodeResult } from "./blob.ts";
import type { PackRange } from "./packs.ts";

const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js",
  import.meta.url,
);

/** Jobs a worker holds at once (one decoding, one queued behind it). */
const DEPTH = 2;

/** One buffer pair a range is read into and decoded into; reused once its range is written. */
export interface DecodeSlot {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

/**
 * Decodes ranges of blobs (decryption + zstd + ID check) on worker threads through shared
 * memory: the main thread reads a range into a slot's `input`, a worker writes the plaintexts
 * into the slot's `output`; nothing is copied through messages. Workers run
 * `restore-worker.ts`, which loads only the decoding modules.
 *
 * Every blob's ID is checked before its plaintext is returned. With `mainChecksEvery: n`,
 * the calling thread checks the IDs of every n-th range itself when the worker hands it back
 * (the HMAC allocates nothing, so it costs no memory), which balances a single worker, the
 * bottleneck, against the main thread's reads and writes.
 */
export class RestoreDecoder {
  readonly #pool: WorkerPool;
  #ranges = 0;

  constructor(
    private readonly master: MasterKey,
    workers: number,
    private readonly mainChecksEvery = 0,
  ) {
    this.#pool = new WorkerPool(WORKER_URL, masterKeyToBytes(master), {
      size: workers,
      depth: DEPTH,
    });
  }

  /** Decodes the blobs of `r`, whose bytes (`length` of them) are in `slot.input`. */
  async decode(slot: DecodeSlot, length: number, r: PackRange): Promise<(Buffer | CofferError)[]> {
    const checkHere = this.mainChecksEvery > 0 && this.#ranges++ % this.mainChecksEvery === 0;
    const job: DecodeJob = {
      checkIds: !checkHere,
      input: slot.input,
      inputLength: length,
      output: slot.output,
      blobs: r.blobs.map((b) => [
        b.id,
        b.loc.offset - r.offset,
        b.loc.length,
        b.loc.flags,
        b.loc.rawLength,
      ]),
    };
    let results: DecodeResult[] = [];
    await this.#pool.run(job, [], (m: WorkerReply) => {
      results = (m as WorkerReply & { results: DecodeResult[] }).results;
    });
    const out = Buffer.from(slot.output);
    return r.blobs.map((b, k) => {
      const res = results[k];
      if (typeof res === "number") {
        const raw = out.subarray(res, res + b.loc.rawLength);
        if (!checkHere) return raw;
        try {
          checkBlobId(this.master, b.id, raw);
        } catch (err) {
          return err as CofferError;
        }
        return raw;
      }
      return new CofferError(res?.code ?? "CORRUPT", res?.message ?? `Cannot read blob: no result`);
    });
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** Bytes a range's plaintexts need in a slot's output area (plus one spare byte). */
export function outputSize(r: PackRange): number {
  let n = 1;
  for (const b of r.blobs) n += b.loc.rawLength;
  return n;
}
