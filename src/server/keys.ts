import { MAX_KEY_BYTES } from "../storage/keys.ts";
import { S3Error } from "./s3/errors.ts";

/**
 * Refuses object keys the gateway will not store: over 1024 UTF-8 bytes, NUL or other C0
 * controls, a backslash, a leading `/`, or an empty, `.` or `..` segment (these could
 * escape or alias paths in a file-system backend).
 */
export function checkObjectKey(key: string): void {
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new S3Error(
      "KeyTooLongError",
      `Your key is too long: the maximum is ${MAX_KEY_BYTES} bytes`,
    );
  }
  let why: string | undefined;
  if (/[\u0000-\u001f\u007f]/.test(key)) why = "it contains a NUL or control character";
  else if (key.includes("\\")) why = "it contains a backslash";
  else if (key.startsWith("/")) why = "it starts with '/'";
  else if (
    key.split("/").some((s, i, all) => s === ".." || s === "." || (s === "" && i < all.length - 1))
  ) {
    why = "it has an empty, '.' or '..' path segment";
  } else if (key.endsWith("/")) why = "it ends with '/' (directory markers are not stored)";
  if (why !== undefined)
    throw new S3Error("InvalidArgument", `Invalid object key: ${why}`, { ArgumentName: "key" });
}

/**
 * True when `key` lies under one of the source's scratch prefixes (deleted at once). A prefix
 * matches as whole path segments at any depth, so a repository under a prefix
 * (`restic -r s3:https://gw/bucket/restic`) has its `restic/locks/…` treated like `locks/…`.
 */
export function isScratch(key: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => key.startsWith(p) || key.includes(`/${p}`));
}
