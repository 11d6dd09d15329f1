import { spawn, type ChildProcess } from "node:child_process";
import { CofferError } from "../core/errors.ts";

/** Environment handed to a database tool. */
export type ToolEnv = Readonly<Record<string, string | undefined>>;

/** What a finished tool did. */
export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runTool}. */
export interface RunToolOptions {
  env: ToolEnv;
  /** Bytes written to the tool's stdin (then closed). */
  input?: string;
  /** Kill the tool (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
}

/**
 * A failed database tool: the message is one line (the tool's most telling stderr line),
 * `stderr` keeps the tool's whole error output (tail) for the user to read.
 */
export class ToolError extends CofferError {
  constructor(
    message: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super("COMMAND_FAILED", message, options);
  }
}

/** Spawns a tool with a clean copy of `env` (undefined values dropped). */
export function spawnTool(
  command: string,
  args: readonly string[],
  env: ToolEnv,
  stdin: "ignore" | "pipe",
): ChildProcess & {
  stdout: NonNullable<ChildProcess["stdout"]>;
  stderr: NonNullable<ChildProcess["stderr"]>;
} {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const child = spawn(command, [...args], { env: clean, stdio: [stdin, "pipe", "pipe"] });
  return child as ChildProcess & {
    stdout: NonNullable<ChildProcess["stdout"]>;
    stderr: NonNullable<ChildProcess["stderr"]>;
  };
}

/** Keeps the last `max` characters of a child's stderr. */
export class StderrTail {
  private text = "";
  constructor(private readonly max = 16_384) {}
  push(s: string): void {
    this.text = (this.text + s).slice(-this.max);
  }
  get value(): string {
    return this.text;
  }
}

/**
 * The line of a tool's stderr that best says what went wrong: the first line that mentions
 * an error or fatal condition, else the last non-empty line; whitespace collapsed.
 */
export function errorLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter(
      (l) => l !== "" && !/^(warning|notice|hint|detail)\b/i.test(l.replace(/^[\w.-]+: /, "")),
    );
  const bad = lines.find((l) =>
    /\b(error|fatal|failed|denied|refused|unknown|not exist|cannot|could not)\b/i.test(l),
  );
  return bad ?? lines.at(-1) ?? "";
}

/** Runs a tool to completion, collecting its output (small outputs only: queries, versions). */
export function runTool(
  command: string,
  args: readonly string[],
  o: RunToolOptions,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawnTool(command, args, o.env, o.input !== undefined ? "pipe" : "ignore");
    const out: Buffer[] = [];
    const err = new StderrTail();
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      err.push(s);
    });
    const timer =
      o.timeoutMs !== undefined
        ? setTimeout(() => {
            err.push(`\n${command}: error: timed out after ${String(o.timeoutMs)} ms\n`);
            child.kill("SIGKILL");
          }, o.timeoutMs)
        : undefined;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      const missing = (e as { code?: unknown }).code === "ENOENT";
      resolve({
        code: null,
        signal: null,
        stdout: "",
        stderr: missing
          ? `${command}: error: command not found (install it or put it on PATH)`
          : `${command}: error: ${e.message}`,
      });
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: err.value });
    });
    if (o.input !== undefined) {
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(o.input);
    }
  });
}

/** Runs a tool and returns its stdout; a non-zero exit throws {@link ToolError}. */
export async function runToolOrThrow(
  command: string,
  args: readonly string[],
  o: RunToolOptions,
  what: string,
): Promise<string> {
  const r = await runTool(command, args, o);
  if (r.code !== 0) throw toolFailure(what, command, r);
  return r.stdout;
}

/** The ToolError for a tool that exited non-zero or was killed. */
export function toolFailure(
  what: string,
  command: string,
  r: Pick<ToolResult, "code" | "signal" | "stderr">,
): ToolError {
  const line = errorLine(r.stderr);
  const how =
    r.signal !== null
      ? `${command} was killed by ${r.signal}`
      : r.code === null
        ? `${command} did not run`
        : `${command} exited with code ${String(r.code)}`;
  return new ToolError(
    `${what}: ${line !== "" ? line : how}${line !== "" && r.signal !== null ? ` (${how})` : ""}`,
    r.stderr,
  );
}
