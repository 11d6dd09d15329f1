import { Worker, type Transferable } from "node:worker_threads";
import { CofferError } from "./errors.ts";

/** Messages a pool worker posts back; `done` and `error` end a job, anything else streams. */
export interface WorkerReply {
  t: string;
  jobId: number;
  message?: string;
}

interface PendingJob {
  jobId: number;
  payload: unknown;
  transfer: readonly Transferable[];
  onMessage: (msg: WorkerReply) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  running: Map<number, PendingJob>;
}

/**
 * A fixed pool of worker threads running one script. Each worker holds up to `depth` jobs at
 * once (so it never idles while the main thread digests its last reply); further jobs wait in
 * a FIFO queue. Jobs stream replies through `onMessage` and finish with `{ t: "done" }`.
 */
export class WorkerPool {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: PendingJob[] = [];
  readonly #depth: number;
  #nextJob = 1;
  #closed = false;
  #failure: unknown;

  constructor(script: URL, workerData: unknown, o: { size: number; depth?: number }) {
    this.size = Math.max(1, o.size);
    this.#depth = o.depth ?? 2;
    for (let i = 0; i < this.size; i++) {
      const worker = startWorker(script, workerData);
      const slot: Slot = { worker, running: new Map() };
      worker.on("message", (msg: WorkerReply) => {
        this.#onMessage(slot, msg);
      });
      worker.on("error", (err) => {
        this.#fail(slot, err);
      });
      worker.on("exit", (code) => {
        if (!this.#closed)
          this.#fail(slot, new CofferError("IO", `Backup worker exited with code ${code}`));
      });
      this.#slots.push(slot);
    }
  }

  /** Number of jobs waiting for a worker (not counting running ones). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs a job on the least busy worker; resolves when the worker reports `done`. */
  run(
    payload: object,
    transfer: readonly Transferable[],
    onMessage: (msg: WorkerReply) => void,
  ): Promise<void> {
    if (this.#failure !== undefined)
      return Promise.reject(
        this.#failure instanceof Error
          ? this.#failure
          : new CofferError("IO", "Backup worker failed", { cause: this.#failure }),
      );
    if (this.#closed)
      return Promise.reject(new CofferError("INTERRUPTED", "Worker pool is closed"));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ jobId: this.#nextJob++, payload, transfer, onMessage, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.#slots) {
        if (
          s.running.size < this.#depth &&
          (best === undefined || s.running.size < best.running.size)
        )
          best = s;
      }
      if (best === undefined) return;
      const job = this.#queue.shift()!;
      best.running.set(job.jobId, job);
      best.worker.postMessage({ jobId: job.jobId, payload: job.payload }, job.transfer);
    }
  }

  #onMessage(slot: Slot, msg: WorkerReply): void {
    const job = slot.running.get(msg.jobId);
    if (job === undefined) return;
    if (msg.t === "done" || msg.t === "error") {
      slot.running.delete(msg.jobId);
      if (msg.t === "done") job.resolve();
      else job.reject(new CofferError("IO", msg.message ?? "Backup worker failed"));
      this.#pump();
      return;
    }
    try {
      job.onMessage(msg);
    } catch (err) {
      job.reject(err);
    }
  }

  #fail(slot: Slot, err: unknown): void {
    this.#failure ??= err;
    for (const job of slot.running.values()) job.reject(err);
    slot.running.clear();
    for (const job of this.#queue.splice(0)) job.reject(err);
  }

  /** Terminates every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#queue.splice(0))
      job.reject(new CofferError("INTERRUPTED", "Worker pool closed"));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/**
 * Starts a worker. A `.ts` script (tests, run under tsx) gets tsx's ESM hooks registered
 * inside the worker first: Node 20 workers do not inherit the `--import tsx` loader.
 */
function startWorker(script: URL, workerData: unknown): Worker {
  if (!script.pathname.endsWith(".ts")) return new Worker(script, { workerData });
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
