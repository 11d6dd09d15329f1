import { readFile, unlink } from "node:fs/promises";
import { CofferError, fromSystemError } from "../../core/errors.ts";
import { Agent, type AgentEvent } from "../../agent/agent.ts";
import { formatIssue } from "../../agent/config-reader.ts";
import { parseAgentConfig, type AgentConfig, type JobConfig } from "../../agent/config.ts";
import { askAgent, listenControl, type ControlReply } from "../../agent/control.ts";
import { sendPing } from "../../agent/ping.ts";
import { runJob } from "../../agent/run-job.ts";
import {
  defaultStateDir,
  ensureStateDir,
  loadState,
  saveState,
  statePaths,
  type StatePaths,
} from "../../agent/state.ts";
import type { CliContext } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import type { CliIO } from "../io.ts";
import { announce, reportRun, runDeps, type SealKey } from "./agent-repository.ts";

/** The configuration file when `--config` is not given. */
export const DEFAULT_CONFIG = "/etc/coffer/agent.yaml";

/** The host's own time zone (cron schedules without `tz`). */
export function hostZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Reads and checks the configuration file; a mistake is BAD_INPUT listing every issue. */
export async function readAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw fromSystemError(err, `Cannot read the agent configuration ${file}`);
  }
  const r = parseAgentConfig(file, text, { defaultTz: hostZone() });
  if (!r.ok)
    throw new CofferError(
      "BAD_INPUT",
      `${String(r.issues.length)} mistake(s) in ${file}:\n${r.issues.map(formatIssue).join("\n")}`,
    );
  return r.config;
}

/** The state directory's paths for a configuration. */
export function pathsFor(config: AgentConfig | undefined, env: CliIO["env"]): StatePaths {
  return statePaths(config?.stateDir ?? defaultStateDir(env, process.getuid?.() ?? 1000));
}

/** Writes agent events: one human line each, or JSON lines with `--json`. */
export function eventWriter(io: CliIO, json: boolean): (e: AgentEvent) => void {
  return (e) => {
    if (json) {
      io.stdout.write(`${JSON.stringify({ ...e, time: new Date(e.time).toISOString() })}\n`);
      return;
    }
    const t = new Date(e.time).toISOString().replace(/\.\d{3}Z$/, "Z");
    io.stdout.write(`${t} ${e.job !== undefined ? `${e.job}: ` : ""}${e.message}\n`);
  };
}

/** `coffer agent run`: the daemon, in the foreground, until SIGTERM/SIGINT. */
export async function runAgent(ctx: CliContext, file: string): Promise<number> {
  const io = ctx.io;
  const log = eventWriter(io, ctx.out.json);
  let config = await readAgentConfig(file);
  const paths = pathsFor(config, io.env);
  await ensureStateDir(paths);
  const state = await loadState(paths);
  state.pid = process.pid;
  state.startedAt = io.clock.now();
  state.config = file;
  const host = config.host ?? ctx.hostname;
  const event = (job: string, text: string, fields: Record<string, unknown> = {}): void => {
    log({ time: io.clock.now(), event: "log", job, message: text, ...fields });
  };
  const seal: SealKey = {};
  const deps = runDeps(() => config, io, host, event, seal);
  const agent = new Agent(config, state, {
    clock: io.clock,
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
      return {
        clear: () => {
          clearTimeout(t);
        },
      };
    },
    run: (job, signal, runIndex) => runJob(job, deps, signal, runIndex),
    report: (o) => reportRun(config, io, host, o, seal),
    ping: (url, kind, body) => sendPing(url, kind, body),
    log,
    save: (s) => saveState(paths, s),
  });
  const server = await listenControl(paths.socket, (req): ControlReply => {
    if (req.op === "ping") return { ok: true, pid: process.pid };
    if (req.op === "status")
      return {
        ok: true,
        pid: process.pid,
        startedAt: state.startedAt,
        config: file,
        jobs: agent.status(),
      };
    return agent.runNow(req.job);
  });
  log({
    time: io.clock.now(),
    event: "started",
    message: `coffer agent started: ${String(config.jobs.length)} job(s) from ${file}, state in ${paths.dir}, pid ${String(process.pid)}`,
    pid: process.pid,
  });
  const onHup = (): void => {
    void reload();
  };
  const reload = async (): Promise<void> => {
    try {
      const next = await readAgentConfig(file);
      if ((next.stateDir ?? paths.dir) !== paths.dir)
        log({
          time: io.clock.now(),
          event: "warning",
          message: "state_dir changed: it takes effect at the next restart",
        });
      config = next;
      agent.reload(next);
      void announce(next, io, host, log);
      log({
        time: io.clock.now(),
        event: "reload",
        message: `configuration reloaded: ${String(next.jobs.length)} job(s)`,
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      for (const line of msg.split("\n"))
        log({ time: io.clock.now(), event: "reload-failed", message: line });
      log({
        time: io.clock.now(),
        event: "reload-failed",
        message: "keeping the previous configuration",
      });
    }
  };
  process.on("SIGHUP", onHup);
  agent.start();
  void announce(config, io, host, log);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener(
      "abort",
      () => {
        resolve();
      },
      { once: true },
    );
  });
  log({
    time: io.clock.now(),
    event: "stopping",
    message: "stopping: interrupting running jobs (nothing half-committed)",
  });
  process.off("SIGHUP", onHup);
  // Running jobs unwind within a few seconds; the exit does not wait longer than that.
  await Promise.race([agent.stop(), new Promise((r) => setTimeout(r, 4000).unref())]);
  server.close();
  await unlink(paths.socket).catch(() => undefined);
  log({ time: io.clock.now(), event: "stopped", message: "coffer agent stopped" });
  return ExitCode.OK;
}

/** `coffer agent run-now JOB`: through the running daemon, else here in the foreground. */
export async function runNow(ctx: CliContext, file: string, name: string): Promise<number> {
  const config = await readAgentConfig(file);
  const job: JobConfig | undefined = config.jobs.find((j) => j.name === name);
  if (job === undefined)
    throw new CofferError(
      "BAD_INPUT",
      `No job "${name}" in ${file} (jobs: ${config.jobs.map((j) => j.name).join(", ")})`,
    );
  const paths = pathsFor(config, ctx.io.env);
  const reply = await askAgent(paths.socket, { op: "run-now", job: name }).catch(() => undefined);
  if (reply !== undefined) {
    if (ctx.out.json) ctx.out.data({ message_type: "run-now", via: "daemon", ...reply });
    else ctx.out.line(reply.message ?? "");
    if (!reply.ok) throw new CofferError("CONFLICT", reply.message ?? "refused");
    return ExitCode.OK;
  }
  ctx.out.info(`no agent is running: running job ${name} here`);
  const log = eventWriter(ctx.io, ctx.out.json);
  const host = config.host ?? ctx.hostname;
  const event = (j: string, text: string): void => {
    log({ time: ctx.io.clock.now(), event: "log", job: j, message: text });
  };
  const seal: SealKey = {};
  const o = await runJob(
    job,
    runDeps(() => config, ctx.io, host, event, seal),
    ctx.io.signal,
    0,
  );
  await reportRun(config, ctx.io, host, o, seal).catch(() => undefined);
  log({
    time: ctx.io.clock.now(),
    event: "done",
    job: name,
    message: `${o.result} in ${((o.end - o.start) / 1000).toFixed(1)}s${o.error !== undefined ? `: ${o.error}` : ""}`,
    result: o.result,
  });
  if (o.result === "interrupted") return ExitCode.INTERRUPTED;
  return o.result === "failed"
    ? ExitCode.FATAL
    : o.result === "warning"
      ? ExitCode.PARTIAL
      : ExitCode.OK;
}
