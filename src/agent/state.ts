import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromSystemError } from "../core/errors.ts";
import type { RunOutcome } from "./run-job.ts";

/** What the agent remembers about one job across restarts. */
export interface JobState {
  /** The last run time handled (run, or folded into a catch-up): catch-up starts after it. */
  handled?: number;
  /** Runs finished so far (a `1/N` check reads part `runs mod N`). */
  runs: number;
  /** The run in progress, if any. */
  running?: { start: number; attempt: number };
  /** The next scheduled run time. */
  next?: number;
  /** A pending retry of a transient failure. */
  retry?: { attempt: number; at: number; deadline: number };
  last?: RunOutcome;
  lastSuccess?: number;
}

/** The agent's state file (`state.json` in the state directory). */
export interface AgentState {
  version: 1;
  /** The running agent's process ID, or null once it stopped. */
  pid: number | null;
  startedAt?: number;
  config?: string;
  jobs: Record<string, JobState>;
}

/** The state directory when the configuration names none. */
export function defaultStateDir(
  env: Readonly<Record<string, string | undefined>>,
  uid: number,
): string {
  if (uid === 0) return "/var/lib/coffer/agent";
  const base = env.XDG_STATE_HOME ?? join(env.HOME ?? "/tmp", ".local", "state");
  return join(base, "coffer", "agent");
}

/** The state file, the control socket and the directory holding them. */
export interface StatePaths {
  dir: string;
  file: string;
  socket: string;
}

/** Paths inside the state directory `dir`. */
export function statePaths(dir: string): StatePaths {
  return { dir, file: join(dir, "state.json"), socket: join(dir, "agent.sock") };
}

/** Creates the state directory, private to the agent's user. */
export async function ensureStateDir(p: StatePaths): Promise<void> {
  try {
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    await chmod(p.dir, 0o700);
  } catch (err) {
    throw fromSystemError(err, `Cannot create the agent's state directory ${p.dir}`);
  }
}

/** Reads the state file; a missing one is an empty state, a damaged one too (it is only a cache of facts). */
export async function loadState(p: StatePaths): Promise<AgentState> {
  let text: string;
  try {
    text = await readFile(p.file, "utf8");
  } catch {
    return { version: 1, pid: null, jobs: {} };
  }
  try {
    const s = JSON.parse(text) as Partial<AgentState>;
    if (s.version === 1 && typeof s.jobs === "object")
      return {
        version: 1,
        pid: s.pid ?? null,
        jobs: s.jobs,
        ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}),
        ...(s.config !== undefined ? { config: s.config } : {}),
      };
  } catch {
    /* damaged: start afresh */
  }
  return { version: 1, pid: null, jobs: {} };
}

/** Writes the state file atomically (a crash leaves the old or the new one, never half). */
export async function saveState(p: StatePaths, s: AgentState): Promise<void> {
  const tmp = `${p.file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(s, null, 1)}\n`, { mode: 0o600 });
  await rename(tmp, p.file);
}
