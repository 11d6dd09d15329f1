import { spawn } from "node:child_process";
import type { HookSpec } from "./config.ts";

/** How a hook ended. */
export interface HookOutcome {
  ok: boolean;
  /** One line: `exited with code 3: last stderr line`, `timed out after 30s`... */
  detail: string;
  /** The last lines the hook printed (stdout and stderr). */
  output: string[];
}

const KEEP_LINES = 20;

/**
 * Runs a hook with `/bin/sh -c`, its environment extended by `env`, with stdin closed. It is
 * killed (SIGTERM, then SIGKILL after 2 s) when its timeout passes or `signal` aborts. A hook
 * that cannot be started, exits non-zero, is killed or times out is not ok.
 */
export function runHook(
  hook: HookSpec,
  env: Record<string, string>,
  signal: AbortSignal,
): Promise<HookOutcome> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", hook.run], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
      detached: true,
    });
    let tail = "";
    const collect = (b: Buffer): void => {
      tail = (tail + b.toString("utf8")).slice(-8192);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let why: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (reason: string): void => {
      why ??= reason;
      // The hook's whole process group: a shell's children must not outlive it.
      const kill = (sig: NodeJS.Signals): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          /* already gone */
        }
      };
      kill("SIGTERM");
      killTimer = setTimeout(() => {
        kill("SIGKILL");
      }, 2000);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      stop(`timed out after ${formatMs(hook.timeoutMs)}`);
    }, hook.timeoutMs);
    const onAbort = (): void => {
      stop("stopped: the agent is shutting down");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    const finish = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      signal.removeEventListener("abort", onAbort);
      const output = tail
        .split("\n")
        .map((l) => l.trimEnd())
        .filter((l) => l !== "")
        .slice(-KEEP_LINES);
      resolve({ ok, detail, output });
    };
    child.on("error", (err) => {
      finish(false, `cannot start: ${err.message}`);
    });
    child.on("close", (code, sig) => {
      const last = tail.trimEnd().split("\n").pop() ?? "";
      if (why !== undefined) finish(false, why);
      else if (code === 0) finish(true, "ok");
      else
        finish(
          false,
          `${sig !== null ? `was killed by ${sig}` : `exited with code ${String(code)}`}${last !== "" ? `: ${last}` : ""}`,
        );
    });
  });
}

/** `30s`, `5m`, `1500ms`: a duration as the configuration writes it. */
export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${String(ms / 3_600_000)}h`;
  if (ms % 60_000 === 0) return `${String(ms / 60_000)}m`;
  if (ms % 1000 === 0) return `${String(ms / 1000)}s`;
  return `${String(ms)}ms`;
}
