import { chmod, lchown } from "node:fs/promises";
import { setTimesNs } from "./utimens.ts";
import type { EntryKind } from "./entry-stat.ts";
import { type Xattr, writeXattrs } from "./xattrs.ts";

/** The recorded metadata restore puts back on one path. */
export interface RestoredMetadata {
  kind: EntryKind;
  /** `st_mode`; only the permission bits (`& 0o7777`) are applied. */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  xattrs?: readonly Xattr[];
}

/** A metadata step that failed; restore carries on and reports it. */
export interface MetadataWarning {
  path: Buffer;
  /** Which step failed. */
  op: "chown" | "chmod" | "xattr" | "utimes";
  /** One line, e.g. `Cannot chown /t/x to 1234:5678: EPERM`. */
  message: string;
  error: unknown;
}

/** Options for {@link applyMetadata}. */
export interface ApplyOptions {
  /** Apply uid/gid (`lchown`). Default: only when running as root. */
  owners?: boolean;
  onWarning?: (w: MetadataWarning) => void;
}

/**
 * Converts nanoseconds since the epoch to the `number` of seconds that Node's
 * `utimes`/`lutimes` turn into **exactly** the time truncated to whole microseconds.
 *
 * Precision kept: microseconds. Node passes times to libuv as a `double`, and libuv rounds
 * `tv_nsec` down to a multiple of 1000 before calling `utimensat`, so the sub-microsecond
 * part is always lost. A double near 1.7e9 s has a resolution of about 0.24 µs, so a plain
 * `ns / 1e9` can land just below the intended microsecond and lose one more; adding half a
 * microsecond keeps the truncation exact for all dates up to year 2106 (ulp < 0.5 µs).
 * Pre-1970 (negative) times are floored to the microsecond as well.
 */
export function nsToUtimeSeconds(ns: bigint): number {
  const us = ns >= 0n ? ns / 1000n : (ns - 999n) / 1000n;
  return Number(us) / 1e6 + 5e-7;
}

export { restoredTimeNs } from "./utimens.ts";

/**
 * Applies recorded metadata to `path`, which must already have its final contents — and for
 * a directory, all its children (call it in post-order: children first, so creating them does
 * not bump the directory's mtime afterwards, and so a read-only directory is made read-only
 * last). Steps, in this order:
 *
 * 1. ownership with `lchown` (when `owners`; first, because chown clears setuid/setgid bits);
 * 2. permission bits with `chmod` (skipped for symlinks: Linux has no lchmod and a symlink's
 *    own mode is always 0777);
 * 3. xattrs (files and directories only, see {@link writeXattrs});
 * 4. atime and mtime, not following symlinks: exact to the nanosecond with the native addon
 *    (`utimensat`, see utimens.ts), else whole microseconds (see {@link nsToUtimeSeconds}).
 *
 * ctime cannot be set (the kernel sets it to "now" on every change); it is only recorded.
 * Every failure becomes a warning; nothing throws for a single failed step.
 * Returns the number of warnings emitted.
 */
export async function applyMetadata(
  path: Buffer | string,
  meta: RestoredMetadata,
  o: ApplyOptions = {},
): Promise<number> {
  let warnings = 0;
  const warn = (op: MetadataWarning["op"], what: string, err: unknown): void => {
    warnings++;
    const code = (err as { code?: unknown } | null)?.code;
    const detail =
      typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
    o.onWarning?.({ path: Buffer.from(path), op, message: `${what}: ${detail}`, error: err });
  };
  const show = path.toString();
  if (o.owners ?? process.getuid?.() === 0) {
    try {
      await lchown(path, meta.uid, meta.gid);
    } catch (err) {
      warn("chown", `Cannot chown ${show} to ${meta.uid}:${meta.gid}`, err);
    }
  }
  if (meta.kind !== "symlink") {
    try {
      await chmod(path, meta.mode & 0o7777);
    } catch (err) {
      warn("chmod", `Cannot chmod ${show} to 0${(meta.mode & 0o7777).toString(8)}`, err);
    }
  }
  if (meta.xattrs !== undefined && meta.xattrs.length > 0) {
    await writeXattrs(path, meta.kind, meta.xattrs, (w) => {
      warn("xattr", w.message.replace(/: [^:]*$/, ""), w.error);
    });
  }
  try {
    await setTimesNs(path, meta.atimeNs, meta.mtimeNs);
  } catch (err) {
    warn("utimes", `Cannot set times of ${show}`, err);
  }
  return warnings;
}
