import { mkdir, open, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CofferError, fromSystemError } from "../core/errors.ts";
import type { Output } from "./output.ts";

const code = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

function targetError(err: unknown, target: string): CofferError {
  if (code(err) === "EROFS")
    return new CofferError(
      "PERMISSION_DENIED",
      `Cannot restore into ${target}: read-only file system`,
      { cause: err },
    );
  return fromSystemError(err, `Cannot restore into ${target}`);
}

/**
 * Before a restore: creates the target directory and writes (then removes) a probe file in
 * it, so a read-only, unwritable or full target fails at once with one line instead of one
 * warning per file.
 */
export async function probeRestoreTarget(target: string, pid: number): Promise<void> {
  try {
    await mkdir(target, { recursive: true });
  } catch (err) {
    // A recursive mkdir on a read-only file system may say ENOENT: the probe in the nearest
    // existing ancestor tells the real reason.
    let dir = dirname(target);
    while (dir !== dirname(dir) && !(await exists(dir))) dir = dirname(dir);
    await probeWrite(dir, pid).catch((why: unknown) => {
      throw targetError(why, target);
    });
    throw targetError(err, target);
  }
  try {
    await probeWrite(target, pid);
  } catch (err) {
    throw targetError(err, target);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function probeWrite(dir: string, pid: number): Promise<void> {
  const probe = join(dir, `.coffer-restore-probe-${String(pid)}`);
  const handle = await open(probe, "wx", 0o600);
  try {
    await handle.write(Buffer.from("probe\n"));
    await handle.sync();
  } finally {
    await handle.close();
    await unlink(probe).catch(() => undefined);
  }
}

/** The system error code in a restore error message (`… ENOSPC: no space left …`), if any. */
function causeOf(message: string): string | undefined {
  return /\b(E[A-Z]{3,})\b/.exec(message)?.[1];
}

const CAUSES: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "I/O error",
};

/** Warnings printed per file before the rest of a same-cause group is summed up in one line. */
export const SHOWN_PER_CAUSE = 3;

/**
 * Reports restore errors: each file is named, except that when many fail for the same
 * system reason (a full disk, a read-only file system) only the first
 * {@link SHOWN_PER_CAUSE} are, followed by one summary line per reason. `verbose` (-v)
 * names every file; JSON output always lists them all in the summary.
 */
export function reportRestoreErrors(
  out: Output,
  errors: readonly { path: string; message: string }[],
  verbose: boolean,
): void {
  const groups = new Map<string, number>();
  for (const e of errors) {
    const cause = causeOf(e.message);
    const seen = cause === undefined ? 0 : (groups.get(cause) ?? 0);
    if (cause !== undefined) groups.set(cause, seen + 1);
    if (verbose || out.json || cause === undefined || seen < SHOWN_PER_CAUSE)
      out.warn(`cannot restore ${e.path}: ${e.message}`, { path: e.path });
  }
  if (verbose || out.json) return;
  for (const [cause, n] of groups) {
    if (n <= SHOWN_PER_CAUSE) continue;
    out.warn(
      `${String(n - SHOWN_PER_CAUSE)} more file${n - SHOWN_PER_CAUSE === 1 ? "" : "s"} could not be restored: ${CAUSES[cause] ?? cause} (${cause}; -v names every file)`,
    );
  }
}
