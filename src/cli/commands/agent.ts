import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CofferError } from "../../core/errors.ts";
import type { JobStatus } from "../../agent/agent.ts";
import { formatIssue } from "../../agent/config-reader.ts";
import { parseAgentConfig } from "../../agent/config.ts";
import { askAgent } from "../../agent/control.ts";
import { crontabLines, systemdUnit, type InstallSpec } from "../../agent/install.ts";
import { hostOffset, nextDue } from "../../agent/schedule.ts";
import { loadState } from "../../agent/state.ts";
import { flag, str, type Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatBytes } from "../output.ts";
import {
  DEFAULT_CONFIG,
  hostZone,
  pathsFor,
  readAgentConfig,
  runAgent,
  runNow,
} from "./agent-run.ts";

const SUBCOMMANDS = ["run", "validate", "status", "run-now", "install"];
const UNIT_PATH = "/etc/systemd/system/coffer-agent.service";

/** `coffer agent`: the daemon that runs backup jobs on schedule. */
export const agentCommand: Command = {
  name: "agent",
  summary: "run backup jobs on schedule (run, validate, status, run-now JOB, install)",
  usage: "agent run|validate|status|run-now JOB|install [--config FILE] [--print] [--crontab]",
  options: {
    config: {
      type: "string",
      arg: "FILE",
      help: `the agent's configuration (or COFFER_AGENT_CONFIG; default ${DEFAULT_CONFIG})`,
    },
    print: { type: "boolean", help: "install: only print the systemd unit (or crontab lines)" },
    crontab: { type: "boolean", help: "install: the crontab fallback instead of systemd" },
  },
  async run(ctx, args) {
    const [sub, ...rest] = args.positionals;
    const given = str(args, "config") ?? ctx.io.env.COFFER_AGENT_CONFIG ?? DEFAULT_CONFIG;
    const file = isAbsolute(given) ? given : resolve(ctx.io.cwd, given);
    if (sub === undefined || !SUBCOMMANDS.includes(sub))
      throw new CofferError(
        "BAD_INPUT",
        `agent: give a subcommand: ${SUBCOMMANDS.join(", ")} (see coffer agent --help)`,
      );
    if (sub !== "run-now" && rest.length > 0)
      throw new CofferError("BAD_INPUT", `agent ${sub}: unexpected argument "${rest[0] ?? ""}"`);
    if (sub === "run") return runAgent(ctx, file);
    if (sub === "validate") return validate(ctx, file);
    if (sub === "status") return status(ctx, file);
    if (sub === "install") return install(ctx, file, flag(args, "print"), flag(args, "crontab"));
    const [job, extra] = rest;
    if (job === undefined || extra !== undefined)
      throw new CofferError("BAD_INPUT", "agent run-now: give exactly one JOB");
    return runNow(ctx, file, job);
  },
};

async function validate(ctx: CliContext, file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CofferError("NOT_FOUND", `Cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const r = parseAgentConfig(file, text, { defaultTz: hostZone() });
  if (!r.ok) {
    for (const i of r.issues) {
      if (ctx.out.json)
        ctx.io.stderr.write(
          `${JSON.stringify({ message_type: "error", code: "BAD_INPUT", ...i, message: formatIssue(i) })}\n`,
        );
      else ctx.io.stderr.write(`${formatIssue(i)}\n`);
    }
    if (!ctx.out.json)
      ctx.io.stderr.write(`coffer: ${String(r.issues.length)} mistake(s) in ${file}\n`);
    return ExitCode.USAGE;
  }
  const now = ctx.io.clock.now();
  const jobs = r.config.jobs.map((j) => {
    const off = hostOffset(r.config.repository, j.name, j.schedule.windowMs ?? 0);
    return {
      job: j.name,
      kind: j.what.kind,
      schedule: j.describe,
      next: nextDue(j.schedule, off, now)?.at ?? null,
    };
  });
  if (ctx.out.json) ctx.out.data({ message_type: "summary", ok: true, file, jobs });
  else {
    ctx.out.line(`${file}: ok, ${String(jobs.length)} job(s)`);
    for (const j of jobs)
      ctx.out.line(
        `  ${j.job.padEnd(14)} ${j.kind.padEnd(9)} ${j.schedule}; next ${j.next !== null ? new Date(j.next).toISOString() : "never"}`,
      );
  }
  return ExitCode.OK;
}

async function status(ctx: CliContext, file: string): Promise<number> {
  const config = await readAgentConfig(file).catch(() => undefined);
  const paths = pathsFor(config, ctx.io.env);
  const live = await askAgent(paths.socket, { op: "status" }).catch(() => undefined);
  let jobs: JobStatus[];
  let running = false;
  if (live?.ok === true && Array.isArray(live.jobs)) {
    jobs = live.jobs as JobStatus[];
    running = true;
  } else {
    const state = await loadState(paths);
    jobs = (config?.jobs.map((j) => j.name) ?? Object.keys(state.jobs)).map((name) => {
      const js = state.jobs[name];
      const j = config?.jobs.find((x) => x.name === name);
      return {
        job: name,
        kind: j?.what.kind ?? "?",
        schedule: j?.describe ?? "?",
        running: false,
        next: js?.next ?? null,
        retry: js?.retry?.at ?? null,
        last: js?.last ?? null,
        lastSuccess: js?.lastSuccess ?? null,
      };
    });
  }
  if (ctx.out.json) {
    ctx.out.data({
      message_type: "status",
      running,
      pid: running ? live?.pid : null,
      state_dir: paths.dir,
      jobs,
    });
    return ExitCode.OK;
  }
  ctx.out.line(
    running
      ? `agent running (pid ${String(live?.pid)}), state in ${paths.dir}`
      : `agent not running; last known state from ${paths.file}`,
  );
  const iso = (ms: number | null | undefined): string =>
    ms === null || ms === undefined ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  ctx.out.line(
    `${"JOB".padEnd(14)} ${"LAST RUN".padEnd(21)} ${"RESULT".padEnd(11)} ${"DURATION".padEnd(9)} ${"ADDED".padEnd(12)} NEXT RUN`,
  );
  for (const j of jobs) {
    const l = j.last;
    const result = j.running ? "running" : (l?.result ?? "never run");
    ctx.out.line(
      `${j.job.padEnd(14)} ${iso(l?.start).padEnd(21)} ${result.padEnd(11)} ${(l ? `${((l.end - l.start) / 1000).toFixed(1)}s` : "-").padEnd(9)} ${(l ? formatBytes(l.bytesAdded) : "-").padEnd(12)} ${iso(j.retry ?? j.next)}${j.retry !== null ? " (retry)" : ""}`,
    );
    if (l?.error !== undefined && l.result !== "success")
      ctx.out.line(`${"".padEnd(14)} ${l.error}`);
  }
  return ExitCode.OK;
}

async function install(
  ctx: CliContext,
  file: string,
  print: boolean,
  cron: boolean,
): Promise<number> {
  const config = await readAgentConfig(file).catch((err: unknown) => {
    if (print) return undefined; // printing needs no valid configuration yet
    throw err;
  });
  const spec: InstallSpec = {
    node: process.execPath,
    coffer: fileURLToPath(new URL("../../../bin/coffer.mjs", import.meta.url)),
    config: file,
    stateDir: pathsFor(config, ctx.io.env).dir,
  };
  const systemd = !cron && existsSync("/run/systemd/system");
  const text = cron || (!systemd && !print) ? crontabLines(spec) : systemdUnit(spec);
  if (print) {
    ctx.io.stdout.write(text);
    return ExitCode.OK;
  }
  if (systemd) {
    await writeFile(UNIT_PATH, text, { mode: 0o644 });
    ctx.out.line(`wrote ${UNIT_PATH}`);
    for (const argv of [["daemon-reload"], ["enable", "--now", "coffer-agent.service"]]) {
      const r = spawnSync("systemctl", argv, { encoding: "utf8" });
      if (r.status !== 0)
        throw new CofferError(
          "COMMAND_FAILED",
          `systemctl ${argv.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}`,
        );
      ctx.out.line(`ran systemctl ${argv.join(" ")}`);
    }
    ctx.out.line("the agent is running: coffer agent status, journalctl -u coffer-agent");
    return ExitCode.OK;
  }
  const current = spawnSync("crontab", ["-l"], { encoding: "utf8" });
  const existing = current.status === 0 ? current.stdout : "";
  if (existing.includes(" agent run --config ")) {
    ctx.out.line("the crontab already starts the agent; left unchanged");
    return ExitCode.OK;
  }
  const r = spawnSync("crontab", ["-"], {
    input: `${existing.trimEnd()}\n${text}`.trimStart(),
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new CofferError(
      "COMMAND_FAILED",
      `crontab - failed: ${(r.stderr || r.error?.message || "").trim()}`,
    );
  ctx.out.line(`${cron ? "" : "no systemd here: "}added to the crontab:\n${text.trimEnd()}`);
  return ExitCode.OK;
}
