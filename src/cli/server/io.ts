/** Output seams for the CLI (tests capture them). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** The process's stdout/stderr. */
export const processIo: CliIo = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
};
