import { readFileSync } from "node:fs";
import { CofferError, isCofferError } from "../core/errors.ts";
import { commandHelp, globalOptions, parseCommandArgs, type Command } from "./command.ts";
import { CliContext } from "./context.ts";
import { ExitCode, exitCodeFor } from "./exit-codes.ts";
import { processIO, type CliIO } from "./io.ts";
import { commands } from "./commands/index.ts";

/** The package version (package.json, one level above src/ and dist/). */
export const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

function usage(): string {
  const lines = ["Usage: coffer COMMAND [options]", "", "Commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  lines.push(`  ${"version".padEnd(12)} print the version`);
  lines.push(`  ${"completion".padEnd(12)} print a shell completion script: completion bash|zsh`);
  lines.push("", "Run `coffer COMMAND --help` for a command's options.");
  lines.push(
    "Exit codes: 0 ok, 1 error, 2 usage, 3 backup incomplete, 10 no repository, 11 locked, 12 wrong password, 130 interrupted.",
  );
  return lines.join("\n");
}

/** Runs `coffer` with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const dash = rest.indexOf("--");
  const json = (dash >= 0 ? rest.slice(0, dash) : rest).includes("--json");
  if (name === "version" || name === "--version") {
    if (json)
      io.stdout.write(
        `${JSON.stringify({ message_type: "version", version: VERSION, node: process.version })}\n`,
      );
    else io.stdout.write(`coffer ${VERSION} (node ${process.version})\n`);
    return ExitCode.OK;
  }
  if (name === "completion") return completion(rest, io);
  const cmd: Command | undefined = await commands.find((c) => c.name === name)?.load();
  if (!cmd) {
    const message = `Unknown command "${name}" (see coffer --help)`;
    if (json)
      io.stderr.write(`${JSON.stringify({ message_type: "error", code: "BAD_INPUT", message })}\n`);
    else io.stderr.write(`coffer: ${message}\n`);
    return ExitCode.USAGE;
  }
  let ctx: CliContext | undefined;
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help === true) {
      io.stdout.write(`${commandHelp(cmd)}\n`);
      return ExitCode.OK;
    }
    ctx = new CliContext(io, args);
    return await cmd.run(ctx, args);
  } catch (err) {
    if (isClosedPipe(err) && (isGone(io.stdout) || isGone(io.stderr))) return ExitCode.CLOSED_PIPE;
    const code = isCofferError(err) ? err.code : undefined;
    const message = isCofferError(err) ? err.message : describeUnexpected(err);
    if (json)
      io.stderr.write(
        `${JSON.stringify({ message_type: "error", code: code ?? "INTERNAL", message })}\n`,
      );
    else io.stderr.write(`coffer: ${message}\n`);
    if (!isCofferError(err) && io.env.COFFER_DEBUG)
      io.stderr.write(`${(err as Error).stack ?? ""}\n`);
    return exitCodeFor(code);
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}

/** `coffer completion bash|zsh`: the completion script, generated from the command table. */
async function completion(rest: string[], io: CliIO): Promise<number> {
  const shell = rest.find((a) => !a.startsWith("-"));
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(
      'Usage: coffer completion bash|zsh\n\nPrints a completion script:\n  eval "$(coffer completion bash)"        # in ~/.bashrc\n  source <(coffer completion zsh)         # in ~/.zshrc (after compinit)\n',
    );
    return ExitCode.OK;
  }
  if (shell !== "bash" && shell !== "zsh") {
    io.stderr.write(
      `coffer: completion: give a shell, bash or zsh (got ${JSON.stringify(shell ?? "")})\n`,
    );
    return ExitCode.USAGE;
  }
  const { completionScript, subcommandsFromUsage } = await import("./completion.ts");
  const table = await Promise.all(
    commands.map(async (c) => {
      const m = await c.load();
      return {
        name: c.name,
        summary: c.summary,
        options: Object.keys(m.options),
        subcommands: subcommandsFromUsage(c.name, m.usage),
      };
    }),
  );
  table.push(
    { name: "version", summary: "print the version", options: [], subcommands: [] },
    {
      name: "completion",
      summary: "print a shell completion script",
      options: [],
      subcommands: ["bash", "zsh"],
    },
    { name: "help", summary: "list the commands", options: [], subcommands: [] },
  );
  io.stdout.write(completionScript(shell, "coffer", table, Object.keys(globalOptions)));
  return ExitCode.OK;
}

/** True once a stream failed or was destroyed (after an EPIPE on it). */
function isGone(stream: NodeJS.WritableStream): boolean {
  const s = stream as { destroyed?: boolean; errored?: unknown };
  return s.destroyed === true || (s.errored !== undefined && s.errored !== null);
}

/**
 * A write to a pipe whose reader has gone (EPIPE), possibly wrapped in a CofferError. Only
 * counts when stdout or stderr itself failed ({@link isGone}): an EPIPE from a storage
 * connection is a network error.
 */
function isClosedPipe(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if ((e as { code?: unknown }).code === "EPIPE") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function describeUnexpected(err: unknown): string {
  if (err instanceof Error) {
    const sys = (err as { code?: unknown }).code;
    return `${typeof sys === "string" ? `${sys}: ` : ""}${err.message.split("\n")[0] ?? ""} (internal error; set COFFER_DEBUG=1 for a stack trace)`;
  }
  return String(err);
}

/** Process entry point: wires signals to an AbortSignal and exits with the code. */
export async function main(): Promise<void> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    ac.abort(new CofferError("INTERRUPTED", "Interrupted: nothing was committed"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // The reader closed the pipe (`coffer ls latest | head`): stop quietly, as restic does.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (err) => {
      if (isClosedPipe(err)) process.exit(ExitCode.CLOSED_PIPE);
      throw err;
    });
  // A promise the engine forgot to await must not end coffer with a stack trace: one line,
  // the error's exit code, and nothing more is done.
  process.on("unhandledRejection", (err) => {
    if (isClosedPipe(err) && (isGone(process.stdout) || isGone(process.stderr)))
      process.exit(ExitCode.CLOSED_PIPE);
    const code = isCofferError(err) ? err.code : undefined;
    const message = isCofferError(err) ? err.message : describeUnexpected(err);
    const args = process.argv.slice(2);
    const json = (args.includes("--") ? args.slice(0, args.indexOf("--")) : args).includes(
      "--json",
    );
    if (json)
      process.stderr.write(
        `${JSON.stringify({ message_type: "error", code: code ?? "INTERNAL", message })}\n`,
      );
    else process.stderr.write(`coffer: ${message}\n`);
    process.exit(exitCodeFor(code));
  });
  const code = await runCli(process.argv.slice(2), processIO(ac.signal));
  process.exitCode = code;
}
