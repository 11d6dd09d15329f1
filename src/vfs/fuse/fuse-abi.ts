/**
 * The FUSE kernel protocol (linux/fuse.h, protocol 7.x) as far as a read-only file system
 * needs it: request header parsing and reply struct encoders. Little-endian, as on every
 * architecture Coffer runs on. Pure: no I/O.
 */

/** Opcodes (enum fuse_opcode). */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  COPY_FILE_RANGE: 47,
  TMPFILE: 51,
} as const;

/** Opcodes that would change the file system: answered with EROFS. */
export const WRITE_OPS: ReadonlySet<number> = new Set([
  Op.SETATTR,
  Op.SYMLINK,
  Op.MKNOD,
  Op.MKDIR,
  Op.UNLINK,
  Op.RMDIR,
  Op.RENAME,
  Op.LINK,
  Op.WRITE,
  Op.SETXATTR,
  Op.REMOVEXATTR,
  Op.CREATE,
  Op.FALLOCATE,
  Op.RENAME2,
  Op.COPY_FILE_RANGE,
  Op.TMPFILE,
]);

/** errno values (Linux). */
export const Errno = {
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EROFS: 30,
  ERANGE: 34,
  ENOSYS: 38,
  ENODATA: 61,
} as const;

/** INIT flags. */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  BIG_WRITES: 1 << 5,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
} as const;

/** FOPEN_KEEP_CACHE: the file's page cache survives open (snapshot files never change). */
export const FOPEN_KEEP_CACHE = 1 << 1;

/** Size of struct fuse_in_header. */
export const IN_HEADER = 40;
/** Size of struct fuse_out_header. */
export const OUT_HEADER = 16;

/** struct fuse_in_header, plus the request body after it. */
export interface Request {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  body: Buffer;
}

/** Parses one request read from /dev/fuse (`buf` holds exactly one). */
export function parseRequest(buf: Buffer): Request {
  if (buf.length < IN_HEADER) throw new Error(`short FUSE request (${String(buf.length)} bytes)`);
  const len = buf.readUInt32LE(0);
  return {
    len,
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
    body: buf.subarray(IN_HEADER, Math.min(len, buf.length)),
  };
}

/** A reply: struct fuse_out_header then `payload`; `error` is 0 or a positive errno. */
export function encodeReply(unique: bigint, error: number, payload?: Buffer): Buffer {
  const len = OUT_HEADER + (error === 0 ? (payload?.length ?? 0) : 0);
  const out = Buffer.alloc(len);
  out.writeUInt32LE(len, 0);
  out.writeInt32LE(-error, 4);
  out.writeBigUInt64LE(unique, 8);
  if (error === 0 && payload !== undefined) payload.copy(out, OUT_HEADER);
  return out;
}

/** The NUL-terminated name at the start of `body`. */
export function cName(body: Buffer, from = 0): Buffer {
  const end = body.indexOf(0, from);
  return body.subarray(from, end < 0 ? body.length : end);
}

/** Attributes as FUSE wants them (struct fuse_attr). */
export interface Attr {
  ino: bigint;
  size: number;
  /** S_IFMT type bits | permission bits. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Size of struct fuse_attr. */
export const ATTR_SIZE = 88;

function split(ns: bigint): [bigint, number] {
  let s = ns / 1_000_000_000n;
  let n = ns % 1_000_000_000n;
  if (n < 0n) {
    n += 1_000_000_000n;
    s -= 1n;
  }
  return [s < 0n ? 0n : s, s < 0n ? 0 : Number(n)];
}

/** Writes struct fuse_attr at `off`. */
export function writeAttr(out: Buffer, off: number, a: Attr): void {
  const [as, an] = split(a.atimeNs);
  const [ms, mn] = split(a.mtimeNs);
  const [cs, cn] = split(a.ctimeNs);
  out.writeBigUInt64LE(a.ino, off);
  out.writeBigUInt64LE(BigInt(a.size), off + 8);
  out.writeBigUInt64LE(BigInt(Math.ceil(a.size / 512)), off + 16);
  out.writeBigUInt64LE(as, off + 24);
  out.writeBigUInt64LE(ms, off + 32);
  out.writeBigUInt64LE(cs, off + 40);
  out.writeUInt32LE(an, off + 48);
  out.writeUInt32LE(mn, off + 52);
  out.writeUInt32LE(cn, off + 56);
  out.writeUInt32LE(a.mode >>> 0, off + 60);
  out.writeUInt32LE(a.nlink >>> 0, off + 64);
  out.writeUInt32LE(a.uid >>> 0, off + 68);
  out.writeUInt32LE(a.gid >>> 0, off + 72);
  out.writeUInt32LE(a.rdev >>> 0, off + 76);
  out.writeUInt32LE(4096, off + 80); // blksize
  out.writeUInt32LE(0, off + 84); // flags
}

/** Cache timeouts in seconds (whole seconds suffice here). */
export interface Validity {
  entry: number;
  attr: number;
}

/** Size of struct fuse_entry_out. */
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;

/** Writes struct fuse_entry_out at `off`. */
export function writeEntryOut(
  out: Buffer,
  off: number,
  nodeid: bigint,
  a: Attr,
  v: Validity,
): void {
  out.writeBigUInt64LE(nodeid, off);
  out.writeBigUInt64LE(0n, off + 8); // generation
  out.writeBigUInt64LE(BigInt(v.entry), off + 16);
  out.writeBigUInt64LE(BigInt(v.attr), off + 24);
  out.writeUInt32LE(0, off + 32);
  out.writeUInt32LE(0, off + 36);
  writeAttr(out, off + 40, a);
}

/** struct fuse_entry_out. */
export function entryOut(nodeid: bigint, a: Attr, v: Validity): Buffer {
  const out = Buffer.alloc(ENTRY_OUT_SIZE);
  writeEntryOut(out, 0, nodeid, a, v);
  return out;
}

/** struct fuse_attr_out. */
export function attrOut(a: Attr, validSeconds: number): Buffer {
  const out = Buffer.alloc(16 + ATTR_SIZE);
  out.writeBigUInt64LE(BigInt(validSeconds), 0);
  writeAttr(out, 16, a);
  return out;
}

/** struct fuse_open_out. */
export function openOut(fh: bigint, openFlags: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(fh, 0);
  out.writeUInt32LE(openFlags, 8);
  return out;
}

/** struct fuse_read_in (READ, READDIR, READDIRPLUS). */
export function readIn(body: Buffer): { fh: bigint; offset: bigint; size: number } {
  return {
    fh: body.readBigUInt64LE(0),
    offset: body.readBigUInt64LE(8),
    size: body.readUInt32LE(16),
  };
}

/** DT_* type of a dirent from S_IFMT bits. */
export function direntType(mode: number): number {
  return (mode >>> 12) & 0xf;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Size of one struct fuse_dirent record (padded). */
export function direntSize(name: Buffer, plus: boolean): number {
  return align8((plus ? ENTRY_OUT_SIZE : 0) + 24 + name.length);
}

/**
 * Writes one dirent (READDIR) or direntplus (READDIRPLUS, with `entry`) record at `off`;
 * `next` is the offset the kernel passes back to continue after it.
 */
export function writeDirent(
  out: Buffer,
  off: number,
  d: { ino: bigint; next: number; name: Buffer; mode: number },
  entry?: { nodeid: bigint; attr: Attr; valid: Validity },
): number {
  let at = off;
  if (entry !== undefined) {
    writeEntryOut(out, at, entry.nodeid, entry.attr, entry.valid);
    at += ENTRY_OUT_SIZE;
  }
  out.writeBigUInt64LE(d.ino, at);
  out.writeBigUInt64LE(BigInt(d.next), at + 8);
  out.writeUInt32LE(d.name.length, at + 16);
  out.writeUInt32LE(direntType(d.mode), at + 20);
  d.name.copy(out, at + 24);
  const end = off + direntSize(d.name, entry !== undefined);
  out.fill(0, at + 24 + d.name.length, end);
  return end;
}

/** struct fuse_init_out for protocol 7.`minor` (minor ≥ 23: the 64-byte form). */
export function initOut(o: {
  minor: number;
  maxReadahead: number;
  flags: number;
  maxWrite: number;
  maxPages: number;
}): Buffer {
  const out = Buffer.alloc(64);
  out.writeUInt32LE(7, 0);
  out.writeUInt32LE(o.minor, 4);
  out.writeUInt32LE(o.maxReadahead, 8);
  out.writeUInt32LE(o.flags >>> 0, 12);
  out.writeUInt16LE(16, 16); // max_background
  out.writeUInt16LE(12, 18); // congestion_threshold
  out.writeUInt32LE(o.maxWrite, 20);
  out.writeUInt32LE(1, 24); // time_gran: nanoseconds
  out.writeUInt16LE(o.maxPages, 28);
  return out;
}

/** struct fuse_statfs_out. */
export function statfsOut(files: number): Buffer {
  const out = Buffer.alloc(80);
  out.writeBigUInt64LE(BigInt(files), 24);
  out.writeUInt32LE(4096, 40); // bsize
  out.writeUInt32LE(255, 44); // namelen
  out.writeUInt32LE(4096, 48); // frsize
  return out;
}
