import { parseArgs } from "node:util";
import { CofferError } from "../core/errors.ts";
import type { ParsedArgs } from "./args.ts";
import type { CliContext } from "./context.ts";

export { flag, str, strs, type ParsedArgs } from "./args.ts";

/** One option of a command, in `util.parseArgs` form plus help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in `--help`; the value's name after `=` for string options, e.g. "GLOB". */
  help: string;
  arg?: string;
}

/** A `coffer` subcommand: a name, its options, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Returns the exit code. Throws CofferError for failures. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

/** Options every command takes. */
export const globalOptions: Record<string, OptionSpec> = {
  repo: {
    type: "string",
    short: "r",
    arg: "REPO",
    help: "repository: a local path or s3:<endpoint>/<bucket>[/prefix] (or COFFER_REPOSITORY)",
  },
  "password-command": {
    type: "string",
    arg: "CMD",
    help: "shell command that prints the password",
  },
  "password-file": {
    type: "string",
    arg: "FILE",
    help: "file holding the password (or COFFER_PASSWORD_FILE)",
  },
  "tls-ca": {
    type: "string",
    arg: "FILE",
    help: "extra CA certificate (PEM) for an s3 repository",
  },
  "tls-fingerprint": {
    type: "string",
    arg: "SHA256",
    help: "pin the server certificate's SHA-256 fingerprint",
  },
  "cache-dir": {
    type: "string",
    arg: "DIR",
    help: "cache directory for remote repositories (or COFFER_CACHE_DIR; default ~/.cache/coffer)",
  },
  "no-cache": {
    type: "boolean",
    help: "do not use the local cache (index objects, snapshots, tree packs)",
  },
  json: { type: "boolean", help: "machine-readable JSON output" },
  quiet: { type: "boolean", short: "q", help: "no progress or informational output" },
  verbose: { type: "boolean", short: "v", help: "more output" },
  help: { type: "boolean", short: "h", help: "show help" },
};

/** Parses `argv` for `cmd` (global options included); unknown options are usage errors. */
export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs {
  const dash = argv.indexOf("--");
  const head = dash >= 0 ? argv.slice(0, dash) : argv;
  const rest = dash >= 0 ? argv.slice(dash + 1) : [];
  const specs = { ...globalOptions, ...cmd.options };
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, o] of Object.entries(specs)) {
    options[name] = {
      type: o.type,
      ...(o.short !== undefined ? { short: o.short } : {}),
      ...(o.multiple !== undefined ? { multiple: o.multiple } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: head,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals, rest };
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0] ?? "bad arguments";
    throw new CofferError(
      "BAD_INPUT",
      `${cmd.name}: ${msg.replace(/\.$/, "")} (see coffer ${cmd.name} --help)`,
      { cause: err },
    );
  }
}

/** The help text of a command. */
export function commandHelp(cmd: Command): string {
  const lines = [`Usage: coffer ${cmd.usage}`, "", cmd.summary, ""];
  const fmt = (name: string, o: OptionSpec): string => {
    const flag = `${o.short !== undefined ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
    return `  ${flag.padEnd(34)} ${o.help}`;
  };
  if (Object.keys(cmd.options).length > 0) {
    lines.push("Options:");
    for (const [n, o] of Object.entries(cmd.options)) lines.push(fmt(n, o));
    lines.push("");
  }
  lines.push("Global options:");
  for (const [n, o] of Object.entries(globalOptions)) lines.push(fmt(n, o));
  return lines.join("\n");
}
