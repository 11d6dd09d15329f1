import { CofferError } from "../core/errors.ts";
import type { ByteRange } from "./storage.ts";

/** The longest key (in UTF-8 bytes) any backend accepts; S3's own limit. */
export const MAX_KEY_BYTES = 1024;

function describe(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

/**
 * Throws `CofferError("BAD_INPUT")` unless `key` is a safe storage key: non-empty,
 * relative, `/`-separated, with no empty, `.` or `..` segment, no NUL or backslash, and at
 * most {@link MAX_KEY_BYTES} bytes.
 */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new CofferError("BAD_INPUT", `Invalid storage key ${describe(key)}: ${problem}`);
  }
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return "empty key";
  if (key.includes("\0")) return "contains a NUL byte";
  if (key.includes("\\")) return "contains a backslash";
  if (key.startsWith("/")) return "absolute path";
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  for (const segment of key.split("/")) {
    if (segment === "") return "empty path segment";
    if (segment === "." || segment === "..") return `'${segment}' path segment`;
  }
  return undefined;
}

/**
 * Throws `CofferError("BAD_INPUT")` unless `prefix` is a safe list prefix: empty, or a key
 * prefix whose complete segments obey {@link validateKey} (a trailing partial segment and
 * a trailing `/` are allowed).
 */
export function validatePrefix(prefix: string): void {
  if (prefix === "") return;
  const bad = (why: string): CofferError =>
    new CofferError("BAD_INPUT", `Invalid storage prefix ${describe(prefix)}: ${why}`);
  if (prefix.includes("\0")) throw bad("contains a NUL byte");
  if (prefix.includes("\\")) throw bad("contains a backslash");
  if (prefix.startsWith("/")) throw bad("absolute path");
  const segments = prefix.split("/");
  const last = segments.pop();
  for (const segment of segments) {
    if (segment === "") throw bad("empty path segment");
    if (segment === "." || segment === "..") throw bad(`'${segment}' path segment`);
  }
  if (last === "..") throw bad("'..' path segment");
}

/**
 * Throws `CofferError("BAD_INPUT")` unless `range` has a non-negative integer offset and
 * length.
 */
export function validateRange(key: string, range: ByteRange): void {
  const ok = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid range for ${describe(key)}: offset ${range.offset}, length ${range.length}`,
    );
  }
}

/** Clamps `range` to an object of `size` bytes: `[start, end)` with `start <= end <= size`. */
export function clampRange(range: ByteRange, size: number): { start: number; end: number } {
  const start = Math.min(range.offset, size);
  const end = Math.min(start + range.length, size);
  return { start, end };
}
