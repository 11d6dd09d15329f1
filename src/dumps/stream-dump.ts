import type { ChildProcess } from "node:child_process";
import type { BackupResult } from "../engine/backup/index.ts";
import { CofferError } from "../core/errors.ts";
import { backupStream } from "../engine/backup/index.ts";
import { assertAllStored, readPipe } from "../engine/backup/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { ToolCommand } from "./driver.ts";
import { StderrTail, spawnTool, toolFailure, type ToolEnv } from "./run-tool.ts";

/** Options for {@link streamToolIntoRepository}. */
export interface StreamToolOptions {
  tool: ToolCommand;
  env: ToolEnv;
  /** Names the dump in error messages: `Cannot dump PostgreSQL database "shop"`. */
  what: string;
  /**
   * Text the tool writes at the very end of a complete dump (`-- Dump completed`); a dump
   * whose last {@link MARKER_WINDOW} bytes lack it is refused.
   */
  completionMarker: string;
  filename: string;
  tags: string[];
  host?: string;
  meta: Record<string, string>;
  time?: Date | number | string;
  /** Called with the spawned tool (tests use it to kill the dump mid-way). */
  onSpawn?: (child: ChildProcess) => void;
}

/** How far from the end of a dump its completion marker may be (pg_dump adds `\unrestrict`). */
export const MARKER_WINDOW = 4096;

/**
 * Spawns a dump tool and streams its stdout straight into a one-file snapshot: no temporary
 * file. The snapshot is committed only when the tool exits 0; a tool that fails, exits
 * non-zero or is killed commits nothing and throws ToolError with its error line. A dump is
 * never empty, ends with the tool's completion marker, and is stored to the last byte that
 * came off the pipe: anything else commits nothing and throws CORRUPT.
 */
export async function streamToolIntoRepository(
  repo: Repository,
  o: StreamToolOptions,
): Promise<BackupResult> {
  const child = spawnTool(o.tool.command, o.tool.args, o.env, "ignore");
  // Read from now on: see PipeSource for the bytes Node drops otherwise.
  const out = readPipe(child.stdout, MARKER_WINDOW);
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
      source: out,
      filename: o.filename,
      tags: o.tags,
      meta: o.meta,
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.time !== undefined ? { time: o.time } : {}),
      beforeCommit: async (stored) => {
        const r = await exited;
        state.done = true;
        if (r.code !== 0) throw toolFailure(o.what, o.tool.command, { ...r, stderr: stderr.value });
        assertAllStored(o.what, out.bytes, stored.bytes);
        assertCompleteDump(o, out.bytes, out.tail());
      },
    });
  } finally {
    if (!state.done) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      out.discard();
    }
  }
}

/** Refuses an empty dump, or one that does not end with the tool's completion marker. */
function assertCompleteDump(o: StreamToolOptions, bytes: number, tail: Buffer): void {
  if (bytes === 0) {
    throw new CofferError(
      "COMMAND_FAILED",
      `${o.what}: ${o.tool.command} exited 0 but wrote nothing; nothing was committed`,
    );
  }
  if (!tail.toString("latin1").includes(o.completionMarker)) {
    throw new CofferError(
      "COMMAND_FAILED",
      `${o.what}: the dump (${String(bytes)} bytes) does not end with "${o.completionMarker}", so it may be cut short; nothing was committed`,
    );
  }
}
