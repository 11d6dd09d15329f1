import { CofferError, isCofferError } from "../core/errors.ts";
import { commandHelp, parseCommandArgs, type Command } from "./command.ts";
import { CliContext } from "./context.ts";
import { ExitCode, exitCodeFor } from "./exit-codes.ts";
import { processIO, type CliIO } from "./io.ts";
import { commands } from "./commands/index.ts";

const VERSION = "0.1.0";

function usage(): string {
  const lines = ["Usage: coffer COMMAND [options]", "", "Commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
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
  // A promise the engine forgot to await must not end coffer with a stack trace: one line,
  // the error's exit code, and nothing more is done.
  process.on("unhandledRejection", (err) => {
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
