import type { Clock } from "../core/deps.ts";

/** The process edges a command may touch, injectable for in-process tests. */
export interface CliIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream & {
    isTTY?: boolean;
    setRawMode?: (raw: boolean) => unknown;
  };
  readonly clock: Clock;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
}

/** The real process. */
export function processIO(signal: AbortSignal): CliIO {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    clock: { now: () => Date.now() },
    signal,
  };
}
