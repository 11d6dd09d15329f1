import { spawn } from "node:child_process";
import { cofferArgv } from "./run-coffer.ts";

/** Text to type when the terminal output (since the last answer) matches `prompt`. */
export interface TtyAnswer {
  prompt: RegExp;
  text: string;
}

/** What a `coffer` run on a pseudo-terminal printed (stdout and stderr, interleaved). */
export interface TtyRun {
  code: number | null;
  output: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the real `coffer` CLI on a pseudo-terminal (util-linux `script`), so stdin, stdout
 * and stderr are all a TTY, as for a user at a terminal. `answers` are typed in order, each
 * once its prompt has appeared, followed by Enter. `script -e` returns the CLI's exit code.
 */
export function runCofferTty(
  args: string[],
  env: Record<string, string>,
  answers: readonly TtyAnswer[] = [],
): Promise<TtyRun> {
  const command = [process.execPath, ...cofferArgv(args)].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      TERM: "xterm",
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    let pending = "";
    let next = 0;
    const onData = (b: Buffer): void => {
      output += b.toString("utf8");
      pending += b.toString("utf8");
      const a = answers[next];
      if (a !== undefined && a.prompt.test(pending)) {
        next++;
        pending = "";
        child.stdin.write(`${a.text}\r`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => {
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}
