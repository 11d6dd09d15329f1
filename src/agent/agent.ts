import type { Clock } from "../core/deps.ts";
import type { AgentConfig, JobConfig } from "./config.ts";
import type { PingKind } from "./ping.ts";
import type { RunOutcome } from "./run-job.ts";
import { decide, hostOffset, nextDue, retryAt, retryDeadline, type Due } from "./schedule.ts";
import type { AgentState, JobState } from "./state.ts";

/** One thing the agent did, for the log (a line of text, or a JSON line with `--json`). */
export interface AgentEvent {
  time: number;
  event: string;
  job?: string;
  message: string;
  [field: string]: unknown;
}

/** What the agent needs from the process; everything time- or I/O-related is injected. */
export interface AgentDeps {
  clock: Clock;
  setTimer(fn: () => void, ms: number): { clear(): void };
  /** Runs one job to its outcome (never throws). */
  run(job: JobConfig, signal: AbortSignal, runIndex: number): Promise<RunOutcome>;
  /** Reports a finished run (to the gateway, when there is one). Failures are logged only. */
  report(o: RunOutcome): Promise<void>;
  ping(url: string, kind: PingKind, body: string): Promise<string | undefined>;
  log(e: AgentEvent): void;
  save(s: AgentState): Promise<void>;
}

/** A job's line in `coffer agent status`. */
export interface JobStatus {
  job: string;
  kind: string;
  schedule: string;
  running: boolean;
  next: number | null;
  retry: number | null;
  last: Omit<RunOutcome, "log"> | null;
  lastSuccess: number | null;
}

/** Longest sleep between two looks at the clock (wall-clock jumps, suspend). */
const MAX_SLEEP = 5 * 60_000;

/**
 * The scheduler: runs each job at its run times (catching a gap up once), never two runs of
 * one job at once, at most `concurrency` jobs at once, retries transient failures with
 * backoff within the run's window, and keeps its state so a restart continues where it was.
 */
export class Agent {
  private config: AgentConfig;
  private readonly running = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private readonly queue: { job: string; due?: Due; attempt: number; why: string }[] = [];
  private timer: { clear(): void } | undefined;
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    config: AgentConfig,
    private readonly state: AgentState,
    private readonly deps: AgentDeps,
  ) {
    this.config = config;
  }

  /** Starts scheduling. Jobs seen for the first time start counting from now. */
  start(): void {
    const now = this.deps.clock.now();
    for (const j of this.config.jobs) this.jobState(j.name).handled ??= now;
    for (const js of Object.values(this.state.jobs)) delete js.running;
    this.tick();
  }

  /** Swaps in a new configuration; running jobs finish under the old one. */
  reload(config: AgentConfig): void {
    this.config = config;
    const now = this.deps.clock.now();
    for (const j of config.jobs) this.jobState(j.name).handled ??= now;
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (!config.jobs.some((j) => j.name === this.queue[i]?.job)) this.queue.splice(i, 1);
    this.tick();
  }

  /** Runs a job now, outside its schedule; refused while it runs or waits. */
  runNow(name: string): { ok: boolean; message: string } {
    if (!this.config.jobs.some((j) => j.name === name))
      return {
        ok: false,
        message: `No job "${name}" (jobs: ${this.config.jobs.map((j) => j.name).join(", ")})`,
      };
    if (this.running.has(name)) return { ok: false, message: `Job ${name} is already running` };
    if (this.queue.some((q) => q.job === name))
      return { ok: false, message: `Job ${name} is already waiting for a free slot` };
    this.queue.push({ job: name, attempt: 0, why: "run-now" });
    this.tick();
    return {
      ok: true,
      message: this.running.has(name)
        ? `Job ${name} started`
        : `Job ${name} queued (concurrency ${String(this.config.concurrency)} reached)`,
    };
  }

  /** Each job's last run and next run. */
  status(): JobStatus[] {
    return this.config.jobs.map((j) => {
      const js = this.jobState(j.name);
      return {
        job: j.name,
        kind: j.what.kind,
        schedule: j.describe,
        running: this.running.has(j.name),
        next: js.next ?? null,
        retry: js.retry?.at ?? null,
        last: js.last !== undefined ? withoutLog(js.last) : null,
        lastSuccess: js.lastSuccess ?? null,
      };
    });
  }

  /** Stops: aborts the running jobs (nothing half-committed) and waits for them to unwind. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    this.queue.length = 0;
    for (const r of this.running.values()) r.ac.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.state.pid = null;
    await this.persist();
  }

  private jobState(name: string): JobState {
    let js = this.state.jobs[name];
    if (js === undefined) {
      js = { runs: 0 };
      this.state.jobs[name] = js;
    }
    return js;
  }

  private offset(j: JobConfig): number {
    return hostOffset(this.config.repository, j.name, j.schedule.windowMs ?? 0);
  }

  private log(event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.deps.log({ time: this.deps.clock.now(), event, message, ...fields });
  }

  private persist(): Promise<void> {
    const snapshot = structuredClone(this.state);
    this.saving = this.saving
      .then(() => this.deps.save(snapshot))
      .catch((err: unknown) => {
        this.log(
          "error",
          `cannot save the state file: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    return this.saving;
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer?.clear();
    const now = this.deps.clock.now();
    for (const j of this.config.jobs) {
      const js = this.jobState(j.name);
      const off = this.offset(j);
      const d = decide(j.schedule, off, js.handled ?? now, now);
      if (d.run) {
        js.handled = d.due.at;
        if (this.running.has(j.name) || this.queue.some((q) => q.job === j.name)) {
          this.log(
            "skip",
            `skipped the run due at ${iso(d.due.at)}: the previous run is still going`,
            { job: j.name },
          );
        } else {
          delete js.retry;
          const why = d.catchUp
            ? `catch-up of the run due at ${iso(d.due.at)}${d.skipped > 0 ? ` (${String(d.skipped)} earlier missed run(s) folded in)` : ""}`
            : "scheduled";
          this.queue.push({ job: j.name, due: d.due, attempt: 0, why });
        }
      } else if (js.retry !== undefined && js.retry.at <= now) {
        const { attempt } = js.retry;
        delete js.retry;
        // A run already running or waiting (run-now) supersedes the retry.
        if (!this.running.has(j.name) && !this.queue.some((q) => q.job === j.name))
          this.queue.push({ job: j.name, attempt, why: `retry ${String(attempt)}` });
      }
      const next = nextDue(j.schedule, off, js.handled ?? now);
      if (next !== undefined) js.next = next.at;
      else delete js.next;
    }
    while (this.running.size < this.config.concurrency && this.queue.length > 0) {
      const q = this.queue.shift();
      const job = q && this.config.jobs.find((j) => j.name === q.job);
      if (q && job) this.launch(job, q);
    }
    void this.persist();
    let wake = now + MAX_SLEEP;
    for (const j of this.config.jobs) {
      const js = this.jobState(j.name);
      if (js.next !== undefined) wake = Math.min(wake, js.next);
      if (js.retry !== undefined) wake = Math.min(wake, js.retry.at);
    }
    this.timer = this.deps.setTimer(
      () => {
        this.tick();
      },
      Math.max(0, wake - this.deps.clock.now()),
    );
  }

  private launch(job: JobConfig, q: { due?: Due; attempt: number; why: string }): void {
    const js = this.jobState(job.name);
    const ac = new AbortController();
    const start = this.deps.clock.now();
    js.running = { start, attempt: q.attempt };
    this.log("start", `started (${q.why})`, { job: job.name, attempt: q.attempt });
    if (job.ping !== undefined && q.attempt === 0)
      this.sendPing(job, "start", `${job.name}: started`);
    const done = this.finish(job, q, ac, js, start).catch((err: unknown) => {
      // Never expected (runs return their failures as data), but never fatal to the daemon.
      this.running.delete(job.name);
      delete js.running;
      this.log(
        "error",
        `internal error after a run: ${err instanceof Error ? err.message : String(err)}`,
        {
          job: job.name,
        },
      );
      this.tick();
    });
    this.running.set(job.name, { ac, done });
  }

  /** Runs the job to its outcome, then records, reports, pings and schedules a retry. */
  private async finish(
    job: JobConfig,
    q: { due?: Due; attempt: number },
    ac: AbortController,
    js: JobState,
    start: number,
  ): Promise<void> {
    const o = await this.deps.run(job, ac.signal, js.runs);
    this.running.delete(job.name);
    delete js.running;
    if (o.result !== "interrupted") js.runs++;
    js.last = o;
    if (o.result === "success" || o.result === "warning") js.lastSuccess = o.end;
    const secs = ((o.end - o.start) / 1000).toFixed(1);
    this.log("done", `${o.result} in ${secs}s${o.error !== undefined ? `: ${o.error}` : ""}`, {
      job: job.name,
      result: o.result,
      duration: (o.end - o.start) / 1000,
      bytes_read: o.bytesRead,
      bytes_added: o.bytesAdded,
      snapshots: o.snapshots,
      ...(o.code !== undefined ? { code: o.code } : {}),
    });
    if (o.result === "interrupted" || this.stopped) {
      await this.persist();
      return;
    }
    let retrying = false;
    if (o.result === "failed" && o.transient) {
      const off = this.offset(job);
      const due = q.due ?? { slot: start, at: start };
      const deadline = js.retry?.deadline ?? retryDeadline(job.schedule, off, due);
      const at = retryAt(o.end, q.attempt + 1, this.config.retry, deadline);
      if (at !== undefined) {
        js.retry = { attempt: q.attempt + 1, at, deadline };
        retrying = true;
        this.log("retry", `transient failure: retry ${String(q.attempt + 1)} at ${iso(at)}`, {
          job: job.name,
        });
      }
    }
    if (!retrying) {
      await this.deps.report(o).catch((err: unknown) => {
        this.log(
          "warning",
          `cannot report the run: ${err instanceof Error ? err.message : String(err)}`,
          { job: job.name },
        );
      });
      if (job.ping !== undefined)
        this.sendPing(job, o.result === "failed" ? "failure" : "success", o.log.join("\n"));
    }
    this.tick();
  }

  private sendPing(job: JobConfig, kind: PingKind, body: string): void {
    const url = job.ping;
    if (url === undefined) return;
    void this.deps.ping(url, kind, body).then((why) => {
      if (why !== undefined)
        this.log("warning", `ping ${kind} failed (the run is not affected): ${why}`, {
          job: job.name,
        });
    });
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function withoutLog(o: RunOutcome): Omit<RunOutcome, "log"> {
  const copy: Partial<RunOutcome> = { ...o };
  delete copy.log;
  return copy as Omit<RunOutcome, "log">;
}
