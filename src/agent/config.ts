import { parseRecovery } from "./config-recovery.ts";
import { ConfigReader, type ConfigIssue } from "./config-reader.ts";
import { parseDatabases } from "./config-databases.ts";
import { parseHooks } from "./config-hooks.ts";
import { parseSchedule } from "./config-schedule.ts";
import type { AgentConfig, Hooks, JobConfig, JobWhat, ParseOptions } from "./config-types.ts";

export type { DatabasesSpec } from "./config-databases.ts";
export type {
  AgentConfig,
  HookSpec,
  Hooks,
  JobConfig,
  JobWhat,
  ParseOptions,
} from "./config-types.ts";

/** The result of reading a configuration: the config, or every mistake in it. */
export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; issues: ConfigIssue[] };

const TOP = [
  "repository",
  "password_file",
  "password_command",
  "host",
  "state_dir",
  "tls_ca",
  "tls_fingerprint",
  "cache_dir",
  "concurrency",
  "retry",
  "hooks",
  "jobs",
];
const JOB = [
  "files",
  "exclude",
  "one_file_system",
  "databases",
  "sqlite",
  "command",
  "filename",
  "check",
  "drill",
  "mirror",
  "copy",
  "schedule",
  "tz",
  "every",
  "window",
  "tags",
  "hooks",
  "ping",
  "timeout",
  "grace",
];
/** Keys that would put a secret in the file: refused, with where secrets go instead. */
const SECRETS = ["password", "aws_secret_access_key", "secret_access_key", "secret"];
const SECRET_HINT =
  "secrets never go in the configuration: use password_file, password_command or the environment (COFFER_PASSWORD, AWS_SECRET_ACCESS_KEY)";

/** Reads an agent configuration; every mistake is returned with its file, line and field. */
export function parseAgentConfig(file: string, text: string, o: ParseOptions): ConfigResult {
  const r = new ConfigReader(file, text);
  if (!r.parsed) return { ok: false, issues: r.issues };
  const top = r.keys([], TOP.concat(SECRETS));
  for (const k of top) if (SECRETS.includes(k)) r.issue([], SECRET_HINT, k);
  const repository = r.str(["repository"], true);
  const passwordFile = r.str(["password_file"]);
  const passwordCommand = r.str(["password_command"]);
  if (passwordFile !== undefined && passwordCommand !== undefined)
    r.issue(["password_command"], "give password_file or password_command, not both");
  const concurrency = r.get(["concurrency"]) ?? 1;
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1)
    r.issue(["concurrency"], "expected a whole number of jobs at once, 1 or more");
  r.keys(["retry"], ["attempts", "initial", "max"]);
  const attempts = r.get(["retry", "attempts"]) ?? 5;
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 0)
    r.issue(["retry", "attempts"], "expected a whole number, 0 or more");
  const retry = {
    attempts: typeof attempts === "number" ? attempts : 5,
    initialMs: r.duration(["retry", "initial"]) ?? 30_000,
    maxMs: r.duration(["retry", "max"]) ?? 10 * 60_000,
  };
  const globalHooks = parseHooks(r, ["hooks"]);
  const jobs: JobConfig[] = [];
  const names = r.keys(["jobs"], []);
  if (r.get(["jobs"]) === undefined) r.issue(["jobs"], "is required: at least one job");
  else if (names.length === 0 && r.issues.every((i) => i.field !== "jobs"))
    r.issue(["jobs"], "has no jobs");
  for (const name of names) {
    const job = parseJob(r, name, globalHooks, o);
    if (job !== undefined) jobs.push(job);
  }
  if (r.issues.length > 0 || repository === undefined) return { ok: false, issues: r.issues };
  const opt = (k: string, key: string): Record<string, string> => {
    const v = r.str([key]);
    return v !== undefined ? { [k]: v } : {};
  };
  return {
    ok: true,
    config: {
      file,
      repository,
      ...opt("passwordFile", "password_file"),
      ...opt("passwordCommand", "password_command"),
      ...opt("host", "host"),
      ...opt("stateDir", "state_dir"),
      ...opt("tlsCa", "tls_ca"),
      ...opt("tlsFingerprint", "tls_fingerprint"),
      ...opt("cacheDir", "cache_dir"),
      concurrency: concurrency as number,
      retry,
      jobs,
    },
  };
}

function parseJob(
  r: ConfigReader,
  name: string,
  global: Hooks,
  o: ParseOptions,
): JobConfig | undefined {
  const at = ["jobs", name];
  const before = r.issues.length;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    r.issue(["jobs"], "a job name uses letters, digits, '.', '_' and '-' only", name);
  const keys = r.keys(at, JOB.concat(SECRETS));
  for (const k of keys) if (SECRETS.includes(k)) r.issue(at, SECRET_HINT, k);
  if (r.get(at) === null || r.get(at) === undefined) {
    r.issue(at, "is empty: give what to back up and a schedule");
    return undefined;
  }
  const kinds = ["files", "databases", "command", "check", "drill", "mirror", "copy"].filter(
    (k) => keys.includes(k) || (k === "databases" && keys.includes("sqlite")),
  );
  if (kinds.length !== 1)
    r.issue(
      at,
      kinds.length === 0
        ? "says nothing to do: give one of files, databases (or sqlite), command, check, drill, mirror or copy"
        : `gives ${kinds.join(" and ")}: a job does one of files, databases, command, check, drill, mirror or copy`,
    );
  const what = kinds.length === 1 ? parseWhat(r, at, kinds[0] ?? "", keys) : undefined;
  const schedule = parseSchedule(r, at, keys, o);
  const tags = r.strList([...at, "tags"]) ?? [];
  const ping = r.str([...at, "ping"]);
  if (ping !== undefined && !/^https?:\/\/[^\s]+$/.test(ping))
    r.issue([...at, "ping"], "expected an http:// or https:// URL");
  const timeoutMs = r.duration([...at, "timeout"], 1000);
  const graceMs = r.duration([...at, "grace"], 0);
  const own = parseHooks(r, [...at, "hooks"]);
  if (r.issues.length > before || what === undefined || schedule === undefined) return undefined;
  return {
    name,
    what,
    schedule: schedule.schedule,
    describe: schedule.describe,
    tags,
    hooks: {
      before: [...global.before, ...own.before],
      after: [...own.after, ...global.after],
      onError: [...own.onError, ...global.onError],
    },
    ...(ping !== undefined ? { ping } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
  };
}

function parseWhat(
  r: ConfigReader,
  at: string[],
  kind: string,
  keys: string[],
): JobWhat | undefined {
  const only = (allowed: string[]): void => {
    for (const k of ["exclude", "one_file_system", "filename"])
      if (keys.includes(k) && !allowed.includes(k))
        r.issue(at, `does not apply to a ${kind} job`, k);
  };
  if (kind === "files") {
    only(["exclude", "one_file_system"]);
    const paths = r.strList([...at, "files"]);
    if (paths?.length === 0) r.issue([...at, "files"], "lists no paths");
    for (const [i, p] of (paths ?? []).entries())
      if (!p.startsWith("/")) r.issue([...at, "files", i], `${p}: expected an absolute path`);
    if (paths === undefined) return undefined;
    return {
      kind,
      paths,
      exclude: r.strList([...at, "exclude"]) ?? [],
      oneFileSystem: r.bool([...at, "one_file_system"]) ?? false,
    };
  }
  if (kind === "command") {
    only(["filename"]);
    const argv = r.strList([...at, "command"]);
    if (argv?.length === 0) r.issue([...at, "command"], "is empty");
    const filename = r.str([...at, "filename"]) ?? argv?.[0]?.split("/").pop();
    if (filename?.includes("/") === true) r.issue([...at, "filename"], "a file name, without '/'");
    if (argv === undefined || argv.length === 0 || filename === undefined) return undefined;
    return { kind, argv, filename };
  }
  if (kind === "databases") {
    only([]);
    const spec = parseDatabases(r, at);
    return spec === undefined ? undefined : { kind, spec };
  }
  only([]);
  if (kind === "drill" || kind === "mirror" || kind === "copy") return parseRecovery(r, at, kind);
  const v = r.get([...at, "check"]);
  if (v === true || v === null) return { kind: "check", readData: false };
  r.keys([...at, "check"], ["read_data", "read_data_subset"]);
  const readData = r.bool([...at, "check", "read_data"]) ?? false;
  const subset = r.str([...at, "check", "read_data_subset"]);
  if (subset === undefined) return { kind: "check", readData };
  const part = /^1\/(\d+)$/.exec(subset);
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(subset);
  if (part !== null && Number(part[1]) >= 1 && Number(part[1]) <= 10_000)
    return { kind: "check", readData, subset: { of: Number(part[1]) } };
  if (pct !== null && Number(pct[1]) > 0 && Number(pct[1]) <= 100)
    return { kind: "check", readData, subset: { fraction: Number(pct[1]) / 100 } };
  r.issue(
    [...at, "check", "read_data_subset"],
    `expected "1/N" (a different Nth each run) or a percentage like "10%", got ${JSON.stringify(subset)}`,
  );
  return undefined;
}
