/** The shapes of a checked agent configuration (see config.ts, which reads one). */
import type { DatabasesSpec } from "./config-databases.ts";
import type { Schedule } from "./schedule.ts";

/** A hook: a shell command line and how long it may take. */
export interface HookSpec {
  run: string;
  timeoutMs: number;
}

/** Commands run around a job (the agent's, then the job's own). */
export interface Hooks {
  before: HookSpec[];
  after: HookSpec[];
  onError: HookSpec[];
}

/** What a job backs up or verifies. */
export type JobWhat =
  | { kind: "files"; paths: string[]; exclude: string[]; oneFileSystem: boolean }
  | { kind: "databases"; spec: DatabasesSpec }
  | { kind: "command"; argv: string[]; filename: string }
  | { kind: "check"; readData: boolean; subset?: { of: number } | { fraction: number } }
  | { kind: "drill"; job: string; target: string }
  | { kind: "mirror"; job: string; to: string; postMirror?: string }
  | { kind: "copy"; to: string; passwordFile: string; job?: string };

/** One job of the agent. */
export interface JobConfig {
  name: string;
  what: JobWhat;
  schedule: Schedule;
  /** `0 3 * * * (Europe/Paris)` or `every 1h, window 20m`: for logs and status. */
  describe: string;
  tags: string[];
  hooks: Hooks;
  ping?: string;
  timeoutMs?: number;
  /** How late past its window a run may finish before the gateway calls it late (default 1h). */
  graceMs?: number;
}

/** The agent's configuration file, read and checked. */
export interface AgentConfig {
  file: string;
  repository: string;
  passwordFile?: string;
  passwordCommand?: string;
  host?: string;
  stateDir?: string;
  tlsCa?: string;
  tlsFingerprint?: string;
  cacheDir?: string;
  concurrency: number;
  retry: { attempts: number; initialMs: number; maxMs: number };
  jobs: JobConfig[];
}

/** Options for `parseAgentConfig`. */
export interface ParseOptions {
  /** Time zone of cron schedules without `tz` (the host's). */
  defaultTz: string;
}
