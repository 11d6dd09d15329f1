import type { ChildProcess } from "node:child_process";
import type { BackupResult } from "../engine/backup-commit.ts";
import { backupStream } from "../engine/backup-stream.ts";
import type { Repository } from "../engine/repository.ts";
import type { ToolCommand } from "./driver.ts";
import { StderrTail, spawnTool, toolFailure, type ToolEnv } from "./run-tool.ts";

/** Options for {@link streamToolIntoRepository}. */
export interface StreamToolOptions {
  tool: ToolCommand;
  env: ToolEnv;
  /** Names the dump in error messages: `Cannot dump PostgreSQL database "shop"`. */
  what: string;
  filename: string;
  tags: string[];
  host?: string;
  meta: Record<string, string>;
  time?: Date | number | string;
  /** Called with the spawned tool (tests use it to kill the dump mid-way). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * Spawns a dump tool and streams its stdout straight into a one-file snapshot: no temporary
 * file. The snapshot is committed only when the tool exits 0; a tool that fails, exits
 * non-zero or is killed commits nothing and throws ToolError with its error line.
 */
export async function streamToolIntoRepository(
  repo: Repository,
  o: StreamToolOptions,
): Promise<BackupResult> {
  const child = spawnTool(o.tool.command, o.tool.args, o.env, "ignore");
  const stderr = new StderrTail();
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    stderr.push(s);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("error", (e) => {
      const missing = (e as { code?: unknown }).code === "ENOENT";
      stderr.push(
        `\n${o.tool.command}: error: ${missing ? "command not found (install it or put it on PATH)" : e.message}\n`,
      );
      resolve({ code: null, signal: null });
    });
    child.on("close", (code, signal) => {
      resolve({ code, signal });
    });
  });
  o.onSpawn?.(child);
  const state = { done: false };
  try {
    return await backupStream(repo, {
      source: child.stdout,
      filename: o.filename,
      tags: o.tags,
      meta: o.meta,
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.time !== undefined ? { time: o.time } : {}),
      beforeCommit: async () => {
        const r = await exited;
        state.done = true;
        if (r.code !== 0) throw toolFailure(o.what, o.tool.command, { ...r, stderr: stderr.value });
      },
    });
  } finally {
    if (!state.done && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
