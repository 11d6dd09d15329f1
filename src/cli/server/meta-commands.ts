import { readFileSync } from "node:fs";
import {
  completionScript,
  optionsFromUsage,
  subcommandsFromUsage,
  type CompletionCommand,
} from "../completion.ts";
import type { CliIo } from "./io.ts";

/** The package version (package.json, three levels above this file in src/ and dist/). */
export const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** The usage lines (`  source add NAME …`) that describe `cmd` (and `sub`, when one matches). */
function usageLines(usage: string, cmd: string, sub: string | undefined): string[] {
  const lines = usage.split("\n").filter((l) => l.startsWith(`  ${cmd} `) || l === `  ${cmd}`);
  if (sub === undefined) return lines;
  const forSub = lines.filter((l) => new RegExp(`(^  | \\| )${cmd} ${sub}\\b`).test(l));
  return forSub.length > 0 ? forSub : lines;
}

/** The completion table of `coffer-server`, read from its usage text. */
function completionTable(usage: string): CompletionCommand[] {
  const names = [
    ...new Set(
      usage
        .split("\n")
        .map((l) => /^ {2}([a-z][a-z-]*)\b/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined),
    ),
  ];
  return names.map((name) => {
    const text = usageLines(usage, name, undefined).join("\n");
    return {
      name,
      summary: `${name} …`,
      options: [...new Set([...optionsFromUsage(text), "config", "data-dir", "help"])],
      subcommands: subcommandsFromUsage(name, text),
    };
  });
}

/**
 * `coffer-server --version | version`, `completion bash|zsh`, and `COMMAND [SUB] --help`
 * (the usage lines of that command). Returns the exit code, or `undefined` when `argv` is
 * none of these and the command runs normally.
 */
export function serverMetaCommand(
  argv: readonly string[],
  io: CliIo,
  usage: string,
): number | undefined {
  const [cmd, ...rest] = argv;
  if (cmd === "--version" || cmd === "version") {
    io.out(`coffer-server ${SERVER_VERSION} (node ${process.version})`);
    return 0;
  }
  if (cmd === "completion") {
    const shell = rest.find((a) => !a.startsWith("-"));
    if (shell !== "bash" && shell !== "zsh") {
      io.err(`coffer-server: completion: give a shell, bash or zsh`);
      return 2;
    }
    io.out(completionScript(shell, "coffer-server", completionTable(usage), []).trimEnd());
    return 0;
  }
  const dash = rest.indexOf("--");
  const opts = dash >= 0 ? rest.slice(0, dash) : rest;
  if (cmd === undefined || !(opts.includes("--help") || opts.includes("-h"))) return undefined;
  const lines = usageLines(usage, cmd, rest[0]?.startsWith("-") === true ? undefined : rest[0]);
  if (lines.length === 0) return undefined; // unknown command: the usual error
  io.out(
    [
      "Usage: coffer-server",
      ...lines.map((l) => `  coffer-server ${l.trim()}`),
      "",
      "Every command takes --config F and --data-dir DIR. See docs/server.md.",
    ].join("\n"),
  );
  return 0;
}
