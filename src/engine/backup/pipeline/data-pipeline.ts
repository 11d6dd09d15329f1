import { availableParallelism } from "node:os";
import { CofferError } from "../../../core/errors.ts";
import { masterKeyToBytes } from "../../../format/keys.ts";
import type { Repository } from "../../repository/index.ts";
import { Packer } from "./packer.ts";
import type { ChunkItem, ChunkJob, ChunkWorkerData, FileTask, PartReply } from "./protocol.ts";
import { WorkerPool, type WorkerReply } from "../../../core/worker-pool.ts";

/** Outcome of reading one file (or one in-memory chunk list). */
export interface ContentResult {
  /** Data blob IDs (hex), in order. */
  content: string[];
  /** Bytes read. */
  size: number;
  /** Set when the file could not be read (the content is then incomplete). */
  error?: string;
}

interface Waiter {
  content: string[];
  resolve: (r: ContentResult) => void;
  /** Called with a fatal pipeline failure (full disk, interruption): not a per-file problem. */
  reject: (err: unknown) => void;
  /** Raw bytes of each chunk as it is encoded (progress within a large file). */
  onBytes?: ((bytes: number) => void) | undefined;
}

/** Files per batch and bytes per batch: small files travel to workers in groups. */
const BATCH_FILES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Files at least this big go alone (their results stream). */
const BIG_FILE = 1024 * 1024;

/** Sealed bytes posted by the workers and not yet written, for a streaming storage. */
const STREAMING_LIMIT = 8 * 1024 * 1024;

const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./chunk-worker.ts" : "./chunk-worker.js",
  import.meta.url,
);

/** Options for {@link DataPipeline}. */
export interface DataPipelineOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  workers?: number;
  /**
   * Sealed bytes allowed in flight between the workers and the storage (default 8 MiB for
   * a streaming storage, 3 packs otherwise).
   */
  memoryLimit?: number;
  /** Aborting stops the pipeline: no further jobs are sent, pending work fails INTERRUPTED. */
  signal?: AbortSignal;
}

/**
 * The data side of a backup: a pool of chunk workers reading, chunking, hashing, compressing
 * and sealing files, feeding a {@link Packer}. Small files are batched (adaptive: a batch is
 * sent as soon as a worker is idle, otherwise it fills up to 64 files / 4 MiB). Memory is
 * bounded by a shared credit counter the workers block on.
 */
export class DataPipeline {
  readonly packer: Packer;
  readonly #size: number;
  /** Starts the workers on first use (an unchanged re-run never needs them). */
  readonly #startPool: () => WorkerPool;
  #poolInstance: WorkerPool | undefined;
  readonly #credit: Int32Array;
  #batch: { files: FileTask[]; waiters: Waiter[]; bytes: number } = {
    files: [],
    waiters: [],
    bytes: 0,
  };
  #inFlight = new Set<Promise<void>>();
  #failure: unknown;
  /** Resolves on the first failure (so {@link finish} stops waiting for running jobs). */
  readonly #failed: Promise<void>;
  #onFailed: () => void = () => undefined;
  readonly #jobsWaiting: (() => void)[] = [];
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.#fail(new CofferError("INTERRUPTED", "Backup interrupted: nothing was committed"));
  };

  constructor(
    readonly repo: Repository,
    o: DataPipelineOptions = {},
  ) {
    this.#failed = new Promise<void>((r) => {
      this.#onFailed = r;
    });
    this.#signal = o.signal;
    if (o.signal?.aborted === true) this.#onAbort();
    else o.signal?.addEventListener("abort", this.#onAbort, { once: true });
    const size = o.workers ?? availableParallelism();
    const packSize = repo.config.packSize;
    // A streaming storage frees sealed bytes as they are written (every MiB), so a small
    // budget keeps the workers busy; the fallback holds whole packs until they are stored.
    const streaming = repo.storage.createWriter !== undefined;
    const limit =
      o.memoryLimit ??
      (streaming
        ? STREAMING_LIMIT
        : Math.max(3 * packSize, 2 * packSize + repo.config.chunker.max));
    const creditBuf = new SharedArrayBuffer(4);
    this.#credit = new Int32Array(creditBuf);
    this.packer = new Packer(
      repo.storage,
      repo.master,
      repo.random,
      repo.index,
      packSize,
      (bytes, type) => {
        if (type !== "data") return;
        Atomics.sub(this.#credit, 0, bytes);
        Atomics.notify(this.#credit, 0);
      },
    );
    const cache = repo.cache;
    if (cache !== undefined)
      this.packer.onTreePackStored = (id, bytes) => cache.packs.put(id, bytes);
    this.#size = Math.max(1, size);
    this.#startPool = () => {
      const data: ChunkWorkerData = {
        master: masterKeyToBytes(repo.master),
        chunker: repo.config.chunker,
        table: repo.index.toShared(),
        credit: creditBuf,
        // A worker posts while the counter is at most this; one part (4 MiB + a max chunk)
        // may overshoot.
        creditLimit: streaming
          ? limit
          : Math.max(packSize, limit - 4 * 1024 * 1024 - repo.config.chunker.max),
      };
      return new WorkerPool(WORKER_URL, data, { size: this.#size, depth: 2 });
    };
  }

  get #pool(): WorkerPool {
    return (this.#poolInstance ??= this.#startPool());
  }

  get #queued(): number {
    return this.#poolInstance?.queued ?? 0;
  }

  /**
   * Queues a file; resolves (the outer promise) once the pipeline accepts more work, with
   * a promise of the file's content.
   */
  async addFile(
    path: Buffer,
    size: number,
    onBytes?: (bytes: number) => void,
  ): Promise<{ result: Promise<ContentResult> }> {
    this.#throwIfFailed();
    while (this.#queued >= this.#size) {
      await new Promise<void>((r) => this.#jobsWaiting.push(r));
      this.#throwIfFailed();
    }
    const result = new Promise<ContentResult>((resolve, reject) => {
      this.#batch.files.push({ path });
      this.#batch.waiters.push({ content: [], resolve, reject, onBytes });
      this.#batch.bytes += size;
    });
    if (
      size >= BIG_FILE ||
      this.#batch.files.length >= BATCH_FILES ||
      this.#batch.bytes >= BATCH_BYTES ||
      this.#poolHasRoom()
    ) {
      this.#submit();
    }
    return { result };
  }

  /** Encodes in-memory chunks (already cut); resolves with their blob IDs. */
  addChunks(chunks: Uint8Array[]): Promise<ContentResult> {
    this.#throwIfFailed();
    const waiters: Waiter[] = [];
    const all: Promise<ContentResult>[] = [];
    for (let i = 0; i < chunks.length; i++)
      all.push(
        new Promise<ContentResult>((resolve, reject) =>
          waiters.push({ content: [], resolve, reject }),
        ),
      );
    this.#run(
      { kind: "chunks", chunks },
      chunks.map((c) => c.buffer as ArrayBuffer),
      waiters,
    );
    return Promise.all(all).then((rs) => ({
      content: rs.flatMap((r) => r.content),
      size: rs.reduce((a, r) => a + r.size, 0),
    }));
  }

  /**
   * Encodes consecutive stream chunks held in one buffer (chunk `i` is
   * `buf[cuts[i - 1] ?? 0, cuts[i])`). `buf` must own its whole ArrayBuffer: it is
   * transferred to a worker and comes back through `onBack` when the worker is done.
   */
  addStreamChunks(
    buf: Uint8Array,
    cuts: number[],
    onBack: (buf: ArrayBuffer) => void,
  ): Promise<ContentResult> {
    this.#throwIfFailed();
    const waiters: Waiter[] = [];
    const all: Promise<ContentResult>[] = [];
    for (let i = 0; i < cuts.length; i++)
      all.push(
        new Promise<ContentResult>((resolve, reject) =>
          waiters.push({ content: [], resolve, reject }),
        ),
      );
    this.#run({ kind: "stream", buf, cuts }, [buf.buffer as ArrayBuffer], waiters, onBack);
    return Promise.all(all).then((rs) => ({
      content: rs.flatMap((r) => r.content),
      size: rs.reduce((a, r) => a + r.size, 0),
    }));
  }

  /** Waits until fewer than `n` jobs are queued (for producers that are not files). */
  async waitForRoom(n = this.#size): Promise<void> {
    this.#throwIfFailed();
    while (this.#queued >= n) {
      await new Promise<void>((r) => this.#jobsWaiting.push(r));
      this.#throwIfFailed();
    }
  }

  #poolHasRoom(): boolean {
    return this.#queued === 0 && this.#inFlight.size < this.#size;
  }

  #submit(): void {
    const b = this.#batch;
    if (b.files.length === 0) return;
    this.#batch = { files: [], waiters: [], bytes: 0 };
    this.#run({ kind: "files", files: b.files }, [], b.waiters);
  }

  /**
   * Records the first fatal failure (a pack that cannot be stored, an interruption): no
   * further jobs are sent, waiters fail with it, and callers blocked on room wake up.
   */
  #fail(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const b = this.#batch;
    this.#batch = { files: [], waiters: [], bytes: 0 };
    for (const w of b.waiters) w.reject(err);
    this.#onFailed();
    this.#wake();
  }

  #run(
    job: ChunkJob,
    transfer: ArrayBuffer[],
    waiters: Waiter[],
    onBack?: (buf: ArrayBuffer) => void,
  ): void {
    if (this.#failure !== undefined) {
      for (const w of waiters) w.reject(this.#failure);
      return;
    }
    const onMessage = (msg: WorkerReply): void => {
      const part = msg as unknown as PartReply;
      for (const item of part.items) this.#onItem(item, waiters);
      if (part.back !== undefined) onBack?.(part.back);
    };
    const p = this.#pool.run(job, transfer, onMessage).then(
      () => {
        this.#inFlight.delete(p);
        this.#wake();
        if (this.#poolHasRoom()) this.#submit();
      },
      (err: unknown) => {
        // A failed job is fatal for the whole backup (its files are not "unreadable").
        this.#inFlight.delete(p);
        this.#fail(err);
        for (const w of waiters) w.reject(this.#failure);
      },
    );
    this.#inFlight.add(p);
  }

  #wake(): void {
    for (const r of this.#jobsWaiting.splice(0)) r();
  }

  #onItem(item: ChunkItem, waiters: Waiter[]): void {
    const w = waiters[item.f];
    if (w === undefined) throw new CofferError("IO", "Backup worker replied for an unknown file");
    if ("end" in item) {
      const r: ContentResult = { content: w.content, size: item.size };
      if (item.err !== undefined) r.error = item.err;
      w.resolve(r);
      return;
    }
    const id = Buffer.from(item.id.buffer, item.id.byteOffset, item.id.byteLength);
    const hex = id.toString("hex");
    if (item.k === 0) {
      this.packer.add(
        { id, type: "data", sealed: item.s!, rawLength: item.raw, flags: item.fl },
        hex,
      );
    } else if (item.k === 2 && !this.packer.known("data", id, hex)) {
      throw new CofferError("IO", `Backup worker referenced blob ${hex.slice(0, 8)} it never sent`);
    }
    w.content.push(hex);
    w.onBytes?.(item.raw);
  }

  /**
   * Sends the pending batch, waits for every job and upload. Throws the pipeline's failure
   * (without waiting for running jobs) once there is one.
   */
  async finish(): Promise<void> {
    this.#throwIfFailed();
    this.#submit();
    while (this.#inFlight.size > 0 && this.#failure === undefined)
      await Promise.race([Promise.allSettled(this.#inFlight), this.#failed]);
    this.#throwIfFailed();
    await this.packer.flush();
  }

  /**
   * Gives up after an error elsewhere (or an interruption): no more jobs, open packs are
   * abandoned (never committed), uploads in progress are awaited. Call before {@link close}.
   */
  async abandon(reason: unknown): Promise<void> {
    this.#fail(reason);
    await this.packer.abandon(this.#failure);
  }

  #throwIfFailed(): void {
    if (this.#failure === undefined) return;
    throw this.#failure instanceof Error
      ? this.#failure
      : new CofferError("IO", "Backup pipeline failed", { cause: this.#failure });
  }

  /** Stops the workers (always call, also after errors). */
  async close(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    await this.#poolInstance?.close();
  }
}
