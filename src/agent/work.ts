/** What a job's work needs and what it produces, shared by every job kind. */
import type { ToolEnv } from "../dumps/run-tool.ts";
import type { Repository } from "../engine/repository/index.ts";

/** What one job's work produced (before hooks). */
export interface WorkResult {
  /** Snapshots committed. */
  snapshots: string[];
  bytesRead: number;
  bytesAdded: number;
  /** A problem that still let the run commit (unreadable files): the run is a "warning". */
  warning?: string;
}

/** Everything the work of a job needs. */
export interface WorkContext {
  repo: Repository;
  host: string;
  tags: string[];
  env: ToolEnv;
  signal: AbortSignal;
  /** How many runs of this job came before (picks the part a `1/N` check reads). */
  runIndex: number;
  log(text: string, fields?: Record<string, unknown>): void;
}
