/**
 * A backup process for crash and concurrency tests, run as its own OS process so that it can
 * be SIGKILLed or raced against another one:
 *
 * ```
 * COFFER_PASSWORD=… node --import tsx src/engine/testing/backup-child.ts \
 *   --repo DIR --path TREE [--path TREE2] [--rounds N] [--host H] [--tag T] [--workers N] [--wait]
 * ```
 *
 * It opens the LocalStorage repository at `--repo` (password from `COFFER_PASSWORD`, or
 * `--password`), loads the index, prints `ready`, and (with `--wait`) waits for one line on
 * stdin before starting, so a test can start two children at the same instant with the same
 * index view. It then runs `--rounds` backups (default 1) of the paths and prints one line
 * `snapshot <id> <round>` after each committed snapshot (its manifest is written by then),
 * then `done`. Errors print `error <message>` on stderr and exit 1.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LocalStorage } from "../../storage/local.ts";
import { backup } from "../backup/index.ts";
import { Repository } from "../repository/index.ts";

/** Writes one line to stdout and resolves once it is flushed (the test parses it). */
function say(line: string): Promise<void> {
  return new Promise((resolve) =>
    process.stdout.write(`${line}\n`, () => {
      resolve();
    }),
  );
}

/** Resolves once a line (or EOF) arrives on stdin. */
function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdin.off("data", onData);
      process.stdin.off("end", done);
      process.stdin.pause();
      resolve();
    };
    const onData = (b: Buffer): void => {
      if (b.includes(0x0a)) done();
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", done);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repo: { type: "string" },
      path: { type: "string", multiple: true },
      password: { type: "string" },
      rounds: { type: "string", default: "1" },
      host: { type: "string" },
      tag: { type: "string", multiple: true },
      workers: { type: "string" },
      wait: { type: "boolean", default: false },
    },
  });
  const password = values.password ?? process.env.COFFER_PASSWORD;
  if (values.repo === undefined || values.path === undefined || password === undefined) {
    throw new Error("usage: backup-child --repo DIR --path P [--rounds N] (COFFER_PASSWORD set)");
  }
  const rounds = Number(values.rounds);
  const repo = await Repository.open(new LocalStorage(values.repo), password);
  await repo.loadIndex();
  await say("ready");
  if (values.wait) await waitForGo();
  for (let round = 0; round < rounds; round++) {
    const r = await backup(repo, {
      paths: values.path,
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.tag !== undefined ? { tags: values.tag } : {}),
      ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
    });
    await say(`snapshot ${r.snapshotId} ${round}`);
  }
  await say("done");
}

/** A running backup child (see the module comment). */
export interface BackupChild {
  proc: ChildProcessWithoutNullStreams;
  /** Every stdout line so far. */
  lines: string[];
  /** `Date.now()` when each line of {@link lines} arrived. */
  lineTimes: number[];
  /** Snapshot IDs it reported as committed so far. */
  snapshots: string[];
  /** Resolves when a stdout line equal to `line` arrived (rejects if it exits first). */
  waitForLine(line: string): Promise<void>;
  /** Resolves with exit code / signal and stderr once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** SIGKILLs the child's whole process group (it is started detached). */
  kill(): void;
}

const script = fileURLToPath(
  new URL(
    import.meta.url.endsWith(".ts") ? "./backup-child.ts" : "./backup-child.js",
    import.meta.url,
  ),
);

/** Starts `backup-child.ts` as a separate node process (in its own process group). */
export function startBackupChild(o: {
  repo: string;
  password: string;
  paths: readonly string[];
  rounds?: number;
  host?: string;
  workers?: number;
  wait?: boolean;
}): BackupChild {
  const args = ["--import", "tsx", script, "--repo", o.repo, "--rounds", String(o.rounds ?? 1)];
  for (const p of o.paths) args.push("--path", p);
  if (o.host !== undefined) args.push("--host", o.host);
  if (o.workers !== undefined) args.push("--workers", String(o.workers));
  if (o.wait === true) args.push("--wait");
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, COFFER_PASSWORD: o.password },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  const lineTimes: number[] = [];
  const snapshots: string[] = [];
  const waiters: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  let buf = "";
  let stderr = "";
  let ended = false;
  proc.stdout.setEncoding("utf8");
  proc.stderr.setEncoding("utf8");
  proc.stdout.on("data", (s: string) => {
    buf += s;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      lineTimes.push(Date.now());
      const m = /^snapshot ([0-9a-f]{64}) /.exec(line);
      if (m?.[1] !== undefined) snapshots.push(m[1]);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    }
  });
  proc.stderr.on("data", (s: string) => {
    stderr += s;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => {
    proc.on("close", (code, signal) => {
      ended = true;
      for (const w of waiters)
        w.reject(
          new Error(
            `backup child exited (${String(code ?? signal)}) before "${w.line}": ${stderr}`,
          ),
        );
      resolve({ code, signal, stderr });
    });
  });
  return {
    proc,
    lines,
    lineTimes,
    snapshots,
    exited,
    waitForLine: (line) =>
      lines.includes(line)
        ? Promise.resolve()
        : ended
          ? Promise.reject(new Error(`backup child exited before "${line}": ${stderr}`))
          : new Promise((resolve, reject) => waiters.push({ line, resolve, reject })),
    kill: () => {
      if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
