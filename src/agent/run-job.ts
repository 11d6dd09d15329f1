import { isCofferError, type ErrorCode } from "../core/errors.ts";
import type { ToolEnv } from "../dumps/run-tool.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { HookSpec, JobConfig } from "./config.ts";
import { runHook } from "./hooks.ts";
import type { WorkResult } from "./job-kinds.ts";

/** How a run ended. `warning`: committed, but some files could not be read. */
export type RunResult = "success" | "warning" | "failed" | "interrupted";

/** The outcome of one run of a job, as logged, kept in the state file and reported. */
export interface RunOutcome {
  job: string;
  start: number;
  end: number;
  result: RunResult;
  /** The error on one line. */
  error?: string;
  code?: ErrorCode | "HOOK_FAILED";
  /** Worth retrying (network, server errors): see {@link isTransient}. */
  transient: boolean;
  bytesRead: number;
  bytesAdded: number;
  snapshots: string[];
  /** The run's log lines (the last 200). */
  log: string[];
}

/** An opened repository and how to release it. */
export interface RepoHandle {
  repo: Repository;
  close(): Promise<void>;
}

/** What {@link runJob} needs from the process. */
export interface RunDeps {
  /** Opens the repository; after `signal` aborts, nothing more may be committed through it. */
  open(signal: AbortSignal): Promise<RepoHandle>;
  host: string;
  env: ToolEnv;
  now(): number;
  /** Called for each log line of the run as it happens. */
  log(job: string, text: string, fields?: Record<string, unknown>): void;
}

/** Error codes worth a retry: the network, the server (5xx after the client's own retries), a lock. */
const TRANSIENT: readonly string[] = ["NETWORK", "IO", "LOCKED"];

/** True when a failure may go away by itself (retried with backoff within the window). */
export function isTransient(err: unknown): boolean {
  return isCofferError(err) && TRANSIENT.includes(err.code);
}

class HookFailure extends Error {}

/**
 * One run of a job: the `before` hooks, the work (backup or check), then the `after` hooks on
 * success or the `on_error` hooks on failure. A failing hook fails this job only. After
 * `signal` aborts, the work stops, nothing is committed, no more hooks run, and the result is
 * `interrupted`. Never throws: every outcome is returned as data.
 */
export async function runJob(
  job: JobConfig,
  deps: RunDeps,
  signal: AbortSignal,
  runIndex: number,
): Promise<RunOutcome> {
  const start = deps.now();
  const lines: string[] = [];
  const log = (text: string, fields?: Record<string, unknown>): void => {
    lines.push(text);
    if (lines.length > 200) lines.shift();
    deps.log(job.name, text, fields);
  };
  const hookEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    COFFER_JOB: job.name,
    COFFER_JOB_KIND: job.what.kind,
    ...extra,
  });
  const hooks = async (
    which: string,
    list: HookSpec[],
    env: Record<string, string>,
  ): Promise<void> => {
    for (const h of list) {
      if (signal.aborted) return;
      const r = await runHook(h, env, signal);
      for (const l of r.output) log(`${which} hook | ${l}`);
      if (!r.ok) throw new HookFailure(`${which} hook "${h.run}" ${r.detail}`);
    }
  };
  const timeout = job.timeoutMs !== undefined ? AbortSignal.timeout(job.timeoutMs) : undefined;
  const runSignal = timeout !== undefined ? AbortSignal.any([signal, timeout]) : signal;
  let work: WorkResult | undefined;
  let failure: unknown;
  try {
    await hooks("before", job.hooks.before, hookEnv());
    if (!signal.aborted) {
      // The engine and the dump drivers load with the first run: an idle agent stays small.
      const { doWork } = await import("./job-kinds.ts");
      const handle = await deps.open(runSignal);
      try {
        work = await doWork(job, {
          repo: handle.repo,
          host: deps.host,
          tags: [`job:${job.name}`, ...job.tags],
          env: deps.env,
          signal: runSignal,
          runIndex,
          log,
        });
      } finally {
        await handle.close().catch(() => undefined);
      }
      await hooks("after", job.hooks.after, hookEnv({ COFFER_RESULT: "success" }));
    }
  } catch (err) {
    failure = err;
  }
  const base = {
    job: job.name,
    start,
    bytesRead: work?.bytesRead ?? 0,
    bytesAdded: work?.bytesAdded ?? 0,
    snapshots: work?.snapshots ?? [],
  };
  if (signal.aborted) {
    log("interrupted: nothing more was committed");
    return {
      ...base,
      end: deps.now(),
      result: "interrupted",
      code: "INTERRUPTED",
      transient: false,
      log: lines,
    };
  }
  if (failure === undefined) {
    if (work?.warning !== undefined) log(`warning: ${work.warning}`);
    return {
      ...base,
      end: deps.now(),
      result: work?.warning !== undefined ? "warning" : "success",
      ...(work?.warning !== undefined ? { error: work.warning, code: "PARTIAL" as const } : {}),
      transient: false,
      log: lines,
    };
  }
  const timedOut = timeout?.aborted === true;
  const message = timedOut
    ? `timed out after ${String((job.timeoutMs ?? 0) / 1000)}s: nothing was committed`
    : oneLine(failure);
  const code: RunOutcome["code"] =
    failure instanceof HookFailure ? "HOOK_FAILED" : isCofferError(failure) ? failure.code : "IO";
  log(`error: ${message}`);
  try {
    await hooks(
      "on_error",
      job.hooks.onError,
      hookEnv({ COFFER_RESULT: "failed", COFFER_ERROR: message }),
    );
  } catch (err) {
    log(`error: ${oneLine(err)}`);
  }
  return {
    ...base,
    end: deps.now(),
    result: "failed",
    error: message,
    code,
    transient: !timedOut && isTransient(failure),
    log: lines,
  };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
