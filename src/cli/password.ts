import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { CofferError } from "../core/errors.ts";
import type { CliIO } from "./io.ts";

/** Where the password may come from, besides the environment. */
export interface PasswordOptions {
  passwordCommand?: string | undefined;
  passwordFile?: string | undefined;
}

/**
 * Gets the repository password from, in order: `--password-command`, `--password-file`,
 * `COFFER_PASSWORD_FILE`, `COFFER_PASSWORD`, then a no-echo prompt on a TTY (asked twice
 * when `confirm` is set). Trailing newlines are stripped from files and command output.
 */
export async function readPassword(
  io: CliIO,
  opts: PasswordOptions,
  prompt = "enter password for repository: ",
  confirm = false,
): Promise<string> {
  const command = opts.passwordCommand ?? io.env.COFFER_PASSWORD_COMMAND;
  if (command !== undefined && command !== "") return checked(await runPasswordCommand(command));
  const file = opts.passwordFile ?? io.env.COFFER_PASSWORD_FILE;
  if (file !== undefined && file !== "") {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new CofferError(
        "BAD_INPUT",
        `Cannot read password file ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return checked(stripNewline(text));
  }
  const env = io.env.COFFER_PASSWORD;
  if (env !== undefined) return checked(env);
  if (io.stdin.isTTY !== true || io.stdin.setRawMode === undefined) {
    throw new CofferError(
      "BAD_INPUT",
      "No password given: set COFFER_PASSWORD or COFFER_PASSWORD_FILE, or use --password-command (stdin is not a terminal)",
    );
  }
  const first = await promptHidden(io, prompt);
  if (confirm) {
    const second = await promptHidden(io, "enter password again: ");
    if (first !== second) throw new CofferError("BAD_INPUT", "Passwords do not match");
  }
  return checked(first);
}

function checked(pw: string): string {
  if (pw.length === 0) throw new CofferError("BAD_INPUT", "Empty password: refusing to use it");
  return pw;
}

function stripNewline(s: string): string {
  return s.replace(/\r?\n$/, "");
}

async function runPasswordCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      reject(
        new CofferError("BAD_INPUT", `Cannot run password command: ${e.message}`, { cause: e }),
      );
    });
    child.on("close", (code) => {
      if (code !== 0) {
        const last = Buffer.concat(err).toString("utf8").trim().split("\n").pop() ?? "";
        reject(
          new CofferError(
            "BAD_INPUT",
            `Password command exited with status ${String(code)}${last ? `: ${last}` : ""}`,
          ),
        );
        return;
      }
      resolve(stripNewline(Buffer.concat(out).toString("utf8")));
    });
  });
}

/** Reads a line from the TTY without echoing it. */
async function promptHidden(io: CliIO, prompt: string): Promise<string> {
  const stdin = io.stdin;
  // Raw mode (no echo) before the prompt shows, so nothing typed after it is ever echoed.
  stdin.setRawMode?.(true);
  io.stderr.write(prompt);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (err?: Error): void => {
      stdin.removeListener("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          finish();
          return;
        }
        if (ch === "\u0003") {
          finish(new CofferError("INTERRUPTED", "Interrupted"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** Shortest password `init` and `key add|passwd|recover` accept without `--insecure-password`. */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Refuses a new password shorter than {@link MIN_PASSWORD_LENGTH} characters (user-perceived
 * characters, NFC) unless `insecure` (`--insecure-password`): a key file is open to offline guessing
 * by anyone who can read it, so the password must carry the margin (docs/format.md §3).
 */
export function checkNewPassword(pw: string, insecure: boolean, what = "password"): string {
  const n = Array.from(new Intl.Segmenter().segment(pw.normalize("NFC"))).length;
  if (!insecure && n < MIN_PASSWORD_LENGTH)
    throw new CofferError(
      "BAD_INPUT",
      `Refusing a ${what} of ${String(n)} character${n === 1 ? "" : "s"}: use at least ${String(MIN_PASSWORD_LENGTH)} (a passphrase of 5+ random words is best), or --insecure-password`,
    );
  return pw;
}
