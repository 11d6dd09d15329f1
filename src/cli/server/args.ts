import { CofferError } from "../../core/errors.ts";

/** Parsed command line: positionals and `--flag [value]` options. */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

/**
 * Parses `argv` against the known options: `valued` take a value (`--x v` or `--x=v`),
 * `flags` do not. Unknown options → `BAD_INPUT` with a one-line message.
 */
export function parseArgs(
  argv: readonly string[],
  valued: readonly string[],
  flags: readonly string[],
): ParsedArgs {
  const out: ParsedArgs = { positionals: [], options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "--") {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (valued.includes(name)) {
      const v = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (v === undefined || (eq < 0 && v.startsWith("--")))
        throw new CofferError("BAD_INPUT", `Option --${name} needs a value`);
      out.options.set(name, v);
    } else if (flags.includes(name)) {
      if (eq >= 0) throw new CofferError("BAD_INPUT", `Option --${name} takes no value`);
      out.options.set(name, true);
    } else {
      throw new CofferError("BAD_INPUT", `Unknown option --${name}`);
    }
  }
  return out;
}

/** A string option's value, if given. */
export function opt(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === "string" ? v : undefined;
}
