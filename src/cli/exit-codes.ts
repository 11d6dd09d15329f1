import type { ErrorCode } from "../core/errors.ts";

/**
 * `coffer` exit codes (documented in README.md and docs/cli.md). They follow restic's
 * where restic has one, so scripts written for restic keep working.
 */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** A fatal error: nothing (more) was done. Also: `check` found damage, `restore` had errors. */
  FATAL: 1,
  /** Bad command-line usage. */
  USAGE: 2,
  /** Backup finished and committed a snapshot, but some files could not be read. */
  PARTIAL: 3,
  /** The repository does not exist. */
  NO_REPOSITORY: 10,
  /** The repository is locked: another prune holds it (`coffer unlock` removes stale locks). */
  LOCKED: 11,
  /** Wrong password (no key file opens with it). */
  WRONG_PASSWORD: 12,
  /** Interrupted (SIGINT/SIGTERM); nothing was committed. */
  INTERRUPTED: 130,
  /**
   * stdout or stderr was closed by the reader (`coffer ls latest | head`): coffer stops at
   * once without a word, with the status of a process killed by SIGPIPE (128 + 13), as restic.
   */
  CLOSED_PIPE: 141,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an error code. */
export function exitCodeFor(code: ErrorCode | undefined): ExitCodeValue {
  switch (code) {
    case "REPO_NOT_FOUND":
      return ExitCode.NO_REPOSITORY;
    case "WRONG_PASSWORD":
      return ExitCode.WRONG_PASSWORD;
    case "INTERRUPTED":
      return ExitCode.INTERRUPTED;
    case "PARTIAL":
      return ExitCode.PARTIAL;
    case "LOCKED":
      return ExitCode.LOCKED;
    case "BAD_INPUT":
      return ExitCode.USAGE;
    default:
      return ExitCode.FATAL;
  }
}
