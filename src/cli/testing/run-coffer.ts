import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../entry.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** The argv (after the executable) that runs the `coffer` CLI from source through tsx. */
export function cofferArgv(args: readonly string[]): string[] {
  return ["--import", tsx, entry, ...args];
}

/** What a `coffer` child process did. */
export interface CofferRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Extra ways to start the child. */
export interface SpawnOptions {
  /** Runs `coffer` under this command, e.g. `withoutDacOverride()` from make-tree.ts. */
  prefix?: readonly string[];
  cwd?: string;
  /** Leaves stdin open (after writing `stdin`, if any): the caller writes and ends it. */
  openStdin?: boolean;
}

/** A running `coffer` child, and its outcome once it exits. */
export interface CofferChild {
  child: ChildProcessWithoutNullStreams;
  done: Promise<CofferRun>;
}

/** Starts the real `coffer` CLI as a child process (see {@link runCoffer}). */
export function spawnCoffer(
  args: string[],
  env: Record<string, string> = {},
  stdin?: Buffer | string,
  opts: SpawnOptions = {},
): CofferChild {
  const argv = [...(opts.prefix ?? []), process.execPath, ...cofferArgv(args)];
  const child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      // The index cache of s3: repositories goes to a temp dir, never the user's ~/.cache.
      COFFER_CACHE_DIR: join(tmpdir(), "coffer-test-cache"),
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  const done = new Promise<CofferRun>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
  child.stdin.on("error", () => undefined);
  if (opts.openStdin === true) {
    if (stdin !== undefined) child.stdin.write(stdin);
  } else child.stdin.end(stdin ?? "");
  return { child, done };
}

/**
 * Runs the real `coffer` CLI from source (through tsx) as a child process, the way a user
 * runs it, with `env` added to a clean environment and optional stdin bytes.
 */
export function runCoffer(
  args: string[],
  env: Record<string, string> = {},
  stdin?: Buffer | string,
  opts: SpawnOptions = {},
): Promise<CofferRun> {
  return spawnCoffer(args, env, stdin, opts).done;
}

/** Parses every non-empty line of `text` as JSON (throws, naming the line, when one is not). */
export function jsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(l)}`);
      }
    });
}
