import { lutimes } from "node:fs/promises";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface NativeTimes {
  utimens(
    path: Buffer,
    atimeSec: number,
    atimeNsec: number,
    mtimeSec: number,
    mtimeNsec: number,
    noFollow: boolean,
  ): number;
}

let native: NativeTimes | null | undefined;

/**
 * The `coffer_native` addon (native/utimens.c, built by `npm install` through binding.gyp), or
 * null when it is not built. Works from `src/fsmeta` and `dist/fsmeta` alike.
 */
function loadNative(): NativeTimes | null {
  if (native !== undefined) return native;
  const file = fileURLToPath(new URL("../../build/Release/coffer_native.node", import.meta.url));
  try {
    native = existsSync(file) ? (createRequire(import.meta.url)(file) as NativeTimes) : null;
  } catch {
    native = null;
  }
  return native;
}

/** True when times are set with nanosecond precision (the native addon is built). */
export function hasNanosecondTimes(): boolean {
  return loadNative() !== null;
}

function split(ns: bigint): [number, number] {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return [Number(sec), Number(nsec)];
}

/** Floors `ns` to the microsecond, as the fallback does. */
function floorUs(ns: bigint): bigint {
  return (ns >= 0n ? ns / 1000n : (ns - 999n) / 1000n) * 1000n;
}

/**
 * Sets atime and mtime of `path` without following a symlink. With the native addon the
 * times are exact to the nanosecond (`utimensat`); without it, Node's `lutimes` keeps whole
 * microseconds (libuv truncates `tv_nsec`). Throws a Node-style error (`code`) on failure.
 */
export async function setTimesNs(
  path: Buffer | string,
  atimeNs: bigint,
  mtimeNs: bigint,
): Promise<void> {
  const n = loadNative();
  if (n) {
    const [as, ans] = split(atimeNs);
    const [ms, mns] = split(mtimeNs);
    const errno = n.utimens(Buffer.from(path), as, ans, ms, mns, true);
    if (errno === 0) return;
    const err = new Error(`utimensat failed with errno ${errno}`) as Error & {
      code: string;
      errno: number;
    };
    err.errno = errno;
    err.code =
      errno === 2
        ? "ENOENT"
        : errno === 1
          ? "EPERM"
          : errno === 13
            ? "EACCES"
            : `E${String(errno)}`;
    throw err;
  }
  // Half a microsecond keeps the double's truncation on the intended microsecond (see ADR).
  const secs = (ns: bigint): number => Number(floorUs(ns) / 1000n) / 1e6 + 5e-7;
  await lutimes(path, secs(atimeNs), secs(mtimeNs));
}

/** The time a restore actually sets for `ns`: exact with the addon, else floored to 1 µs. */
export function restoredTimeNs(ns: bigint): bigint {
  return hasNanosecondTimes() ? ns : floorUs(ns);
}
