import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../entry.ts", import.meta.url));

/** What a `coffer` child process did. */
export interface CofferRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs the real `coffer` CLI from source (through tsx) as a child process, the way a user
 * runs it, with `env` added to a clean environment and optional stdin bytes.
 */
export function runCoffer(
  args: string[],
  env: Record<string, string> = {},
  stdin?: Buffer | string,
): Promise<CofferRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.end(stdin ?? "");
  });
}
