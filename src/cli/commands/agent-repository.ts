import { PassThrough } from "node:stream";
import type { AgentEvent } from "../../agent/agent.ts";
import type { AgentConfig } from "../../agent/config.ts";
import { publishSchedule, publishedSchedule } from "../../agent/publish.ts";
import type { RunDeps, RunOutcome } from "../../agent/run-job.ts";
import type { ParsedArgs } from "../command.ts";
import { CliContext } from "../context.ts";
import type { CliIO } from "../io.ts";
import { writeRunStatus, type RunStatus } from "../report-status.ts";

/** A CLI context on the agent's repository whose commits stop once `signal` aborts. */
export function repoContext(config: AgentConfig, io: CliIO, signal: AbortSignal): CliContext {
  const values: ParsedArgs["values"] = { repo: config.repository };
  if (config.passwordFile !== undefined) values["password-file"] = config.passwordFile;
  if (config.passwordCommand !== undefined) values["password-command"] = config.passwordCommand;
  if (config.tlsCa !== undefined) values["tls-ca"] = config.tlsCa;
  if (config.tlsFingerprint !== undefined) values["tls-fingerprint"] = config.tlsFingerprint;
  if (config.cacheDir !== undefined) values["cache-dir"] = config.cacheDir;
  // No TTY: a missing password is an error, never a prompt.
  const stdin = new PassThrough();
  stdin.end();
  return new CliContext({ ...io, stdin, signal }, { values, positionals: [], rest: [] });
}

/** The repository's encryption key once a run opened it: run reports' details are sealed under it. */
export interface SealKey {
  key?: Uint8Array;
}

/** How a job runs in this process. */
export function runDeps(
  config: () => AgentConfig,
  io: CliIO,
  host: string,
  log: RunDeps["log"],
  seal: SealKey = {},
): RunDeps {
  return {
    open: async (signal) => {
      const ctx = repoContext(config(), io, signal);
      try {
        const repo = await ctx.repository();
        seal.key = repo.master.encKey;
        return { repo, close: () => ctx.close() };
      } catch (err) {
        await ctx.close().catch(() => undefined);
        throw err;
      }
    },
    host,
    env: io.env,
    now: () => io.clock.now(),
    log,
  };
}

/**
 * Reports a finished run to a coffer-server gateway as a status object (the gateway raises
 * "backup failed" from it). A local or plain repository keeps the log only.
 */
export async function reportRun(
  config: AgentConfig,
  io: CliIO,
  host: string,
  o: RunOutcome,
  seal: SealKey = {},
): Promise<void> {
  if (!config.repository.startsWith("s3:")) return;
  const ctx = repoContext(config, io, new AbortController().signal);
  try {
    const status: RunStatus & Record<string, unknown> = {
      ok: o.result === "success" || o.result === "warning",
      message: o.error ?? o.result,
      tags: [`job:${o.job}`],
      host,
      time: new Date(o.end).toISOString(),
      job: o.job,
      result: o.result,
      start: new Date(o.start).toISOString(),
      duration: (o.end - o.start) / 1000,
      bytes_read: o.bytesRead,
      bytes_added: o.bytesAdded,
      snapshots: o.snapshots,
      log: o.log.slice(-100),
    };
    // The message and log lines are sealed under the repository key (dropped if no run opened it).
    await writeRunStatus(
      await ctx.storage(),
      status,
      seal.key !== undefined ? { key: seal.key } : {},
    );
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

/**
 * Publishes the jobs' schedule to a coffer-server gateway (which derives late/down alerts
 * from it); a local or plain repository has no one to tell. A failure is logged, never fatal.
 */
export async function announce(
  config: AgentConfig,
  io: CliIO,
  host: string,
  log: (e: AgentEvent) => void,
): Promise<void> {
  if (!config.repository.startsWith("s3:")) return;
  const ctx = repoContext(config, io, new AbortController().signal);
  try {
    const key = await publishSchedule(
      await ctx.storage(),
      host,
      publishedSchedule(config),
      io.clock.now(),
    );
    log({
      time: io.clock.now(),
      event: "published",
      message: `schedule published to the gateway (${key})`,
    });
  } catch (err) {
    log({
      time: io.clock.now(),
      event: "warning",
      message: `cannot publish the schedule to the gateway: ${err instanceof Error ? err.message : String(err)}`,
    });
  } finally {
    await ctx.close().catch(() => undefined);
  }
}
