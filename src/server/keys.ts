import { MAX_KEY_BYTES } from "../storage/keys.ts";
import type { Queryable } from "./db/dialect.ts";
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

/**
 * Refuses a key the file-system layout cannot hold next to what is stored: one whose parent
 * path is an object (`a` stored, PUT `a/b/c`) or one that is the parent path of stored
 * objects (`a/b/c` stored, PUT `a/b`). S3 lets such keys coexist; coffer's layout does not
 * yet, so the write is refused with a clear 409 before any byte is received, never a 500.
 */
export async function checkKeyLayout(db: Queryable, bucket: string, key: string): Promise<void> {
  const parts = key.split("/");
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join("/");
    if (
      (await db.get("SELECT 1 AS x FROM objects WHERE bucket = ? AND key = ?", [
        bucket,
        parent,
      ])) !== undefined
    )
      throw new S3Error(
        "KeyConflict",
        `Cannot store ${key}: ${parent} is an object, and keys that are prefixes of each other as paths cannot coexist here yet`,
      );
  }
  const under = `${key}/`;
  if (
    (await db.get("SELECT 1 AS x FROM objects WHERE bucket = ? AND substr(key, 1, ?) = ? LIMIT 1", [
      bucket,
      under.length,
      under,
    ])) !== undefined
  )
    throw new S3Error(
      "KeyConflict",
      `Cannot store ${key}: objects exist under ${under}, and keys that are prefixes of each other as paths cannot coexist here yet`,
    );
}
