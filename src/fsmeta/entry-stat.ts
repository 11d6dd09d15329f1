import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";

/** What a directory entry is, from `lstat` (symlinks are never followed). */
export type EntryKind = "file" | "dir" | "symlink" | "fifo" | "socket" | "chardev" | "blockdev";

/**
 * The `lstat` fields a backup records, at full precision: sizes, inode numbers, devices and
 * times are `bigint` (times in nanoseconds since the epoch).
 */
export interface EntryStat {
  /** Full `st_mode` (file type bits and permission bits, including setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  ino: bigint;
  dev: bigint;
  nlink: number;
  rdev: bigint;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  /** Allocated 512-byte blocks (small for sparse files). */
  blocks: bigint;
}

/** Converts `lstat(..., { bigint: true })` output to an {@link EntryStat}. */
export function toEntryStat(st: BigIntStats): EntryStat {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    rdev: st.rdev,
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
    blocks: st.blocks,
  };
}

/** The {@link EntryKind} encoded in the type bits of `mode`. */
export function kindOfMode(mode: number): EntryKind {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFREG:
      return "file";
    case constants.S_IFDIR:
      return "dir";
    case constants.S_IFLNK:
      return "symlink";
    case constants.S_IFIFO:
      return "fifo";
    case constants.S_IFSOCK:
      return "socket";
    case constants.S_IFCHR:
      return "chardev";
    case constants.S_IFBLK:
      return "blockdev";
    default:
      throw new Error(`unknown file type in mode 0o${mode.toString(8)}`);
  }
}
