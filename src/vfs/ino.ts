import { createHash } from "node:crypto";

/** The inode number FUSE reserves for the mount's root. */
export const ROOT_INO = 1n;

const MASK = (1n << 63n) - 1n;

/**
 * A stable inode number derived from `parts` (hash-based, 63 bits, never 0 or 1): the same
 * node gets the same number in every mount and after every refresh.
 */
export function hashIno(...parts: (string | Uint8Array | bigint)[]): bigint {
  const h = createHash("sha256");
  for (const p of parts) {
    const b = typeof p === "bigint" ? Buffer.from(p.toString(), "utf8") : Buffer.from(p);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    h.update(len).update(b);
  }
  const ino = h.digest().readBigUInt64LE(0) & MASK;
  return ino < 2n ? ino + 2n : ino;
}

/** Inode number of a node inside a snapshot: hard links (links > 1) share one number. */
export function snapshotNodeIno(
  snapshotId: string,
  pathBytes: Uint8Array,
  hardLink?: { devId: bigint; inode: bigint },
): bigint {
  return hardLink !== undefined
    ? hashIno("hardlink", snapshotId, hardLink.devId, hardLink.inode)
    : hashIno("node", snapshotId, pathBytes);
}
