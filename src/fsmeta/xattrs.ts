import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { getAttribute, listAttributes, setAttribute } from "fs-xattr";
import type { EntryKind } from "./entry-stat.ts";

/** One extended attribute. Names are strings (fs-xattr decodes them as UTF-8). */
export interface Xattr {
  name: string;
  value: Buffer;
}

/** A non-fatal xattr problem (ENOTSUP, EPERM, ...): reported, never thrown. */
export interface XattrWarning {
  path: Buffer;
  /** One line, e.g. `Cannot read xattrs of /x: operation not supported`. */
  message: string;
  error: unknown;
}

/**
 * True for the kinds whose xattrs we read and write: regular files and directories.
 * Symlinks are skipped because fs-xattr follows links (it would read the target's
 * attributes); Linux refuses `user.*` attributes on FIFOs, sockets and devices.
 */
export function hasXattrs(kind: EntryKind): boolean {
  return kind === "file" || kind === "dir";
}

/**
 * Reads all extended attributes of `path`, sorted by name. Errors (ENOTSUP, EPERM, EACCES,
 * a vanished file, ...) go to `onWarning` and yield what could be read. Non-UTF-8 paths are
 * reached through `/proc/self/fd/N` because fs-xattr only takes string paths.
 */
export async function readXattrs(
  path: Buffer | string,
  kind: EntryKind,
  onWarning?: (w: XattrWarning) => void,
): Promise<Xattr[]> {
  if (!hasXattrs(kind)) return [];
  const out: Xattr[] = [];
  await withStringPath(path, kind, "read", onWarning, async (p) => {
    const names = (await listAttributes(p)).sort();
    for (const name of names) {
      try {
        out.push({ name, value: await getAttribute(p, name) });
      } catch (err) {
        if (errCode(err) === "ENODATA") continue; // removed meanwhile
        warn(onWarning, path, `Cannot read xattr ${name} of`, err);
      }
    }
  });
  return out;
}

/**
 * Sets each attribute on `path` (existing other attributes are left alone). Failures
 * (`trusted.*` without privileges, ENOTSUP filesystems, ...) go to `onWarning`.
 * Returns how many attributes were set.
 */
export async function writeXattrs(
  path: Buffer | string,
  kind: EntryKind,
  xattrs: readonly Xattr[],
  onWarning?: (w: XattrWarning) => void,
): Promise<number> {
  if (!hasXattrs(kind) || xattrs.length === 0) return 0;
  let n = 0;
  await withStringPath(path, kind, "write", onWarning, async (p) => {
    for (const x of xattrs) {
      try {
        await setAttribute(p, x.name, x.value);
        n++;
      } catch (err) {
        warn(onWarning, path, `Cannot set xattr ${x.name} on`, err);
      }
    }
  });
  return n;
}

async function withStringPath(
  path: Buffer | string,
  kind: EntryKind,
  verb: string,
  onWarning: ((w: XattrWarning) => void) | undefined,
  fn: (p: string) => Promise<void>,
): Promise<void> {
  const str = typeof path === "string" ? path : path.toString("utf8");
  const roundTrips = typeof path === "string" || Buffer.from(str, "utf8").equals(path);
  if (roundTrips && !str.includes("\0")) {
    try {
      await fn(str);
    } catch (err) {
      warn(onWarning, path, `Cannot ${verb} xattrs of`, err);
    }
    return;
  }
  let fh;
  try {
    const flags =
      constants.O_RDONLY |
      constants.O_NONBLOCK |
      constants.O_NOFOLLOW |
      (kind === "dir" ? constants.O_DIRECTORY : 0);
    fh = await open(path, flags);
  } catch (err) {
    warn(onWarning, path, `Cannot ${verb} xattrs of`, err);
    return;
  }
  try {
    await fn(`/proc/self/fd/${fh.fd}`);
  } catch (err) {
    warn(onWarning, path, `Cannot ${verb} xattrs of`, err);
  } finally {
    await fh.close();
  }
}

function errCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

function warn(
  onWarning: ((w: XattrWarning) => void) | undefined,
  path: Buffer | string,
  what: string,
  err: unknown,
): void {
  const code = errCode(err);
  const detail = typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
  onWarning?.({
    path: Buffer.from(path),
    message: `${what} ${path.toString()}: ${detail}`,
    error: err,
  });
}
