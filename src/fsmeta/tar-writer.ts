import { once } from "node:events";
import { CofferError } from "../core/errors.ts";
import type { Xattr } from "./xattrs.ts";

/** One archive member for {@link TarWriter.add}. */
export interface TarEntry {
  /** Path inside the archive, raw bytes, relative (no leading `/`); any bytes allowed. */
  path: Buffer;
  kind: "file" | "dir" | "symlink" | "hardlink" | "fifo" | "chardev" | "blockdev";
  /** `st_mode`; the permission bits `& 0o7777` are stored. */
  mode: number;
  uid: number;
  gid: number;
  user?: string | undefined;
  group?: string | undefined;
  mtimeNs: bigint;
  atimeNs?: bigint | undefined;
  ctimeNs?: bigint | undefined;
  /** Content size for files (must equal the bytes given to {@link TarWriter.add}). */
  size?: bigint | number | undefined;
  /** Symlink target, or for `hardlink` the archive path of the first occurrence. */
  linkTarget?: Buffer | undefined;
  /** Device number for chardev/blockdev (Linux `st_rdev` encoding). */
  rdev?: bigint | undefined;
  /** Stored as `SCHILY.xattr.*` pax records (GNU tar: `--xattrs`). */
  xattrs?: readonly Xattr[] | undefined;
}

const BLOCK = 512;
const TYPE: Record<TarEntry["kind"], string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  chardev: "3",
  blockdev: "4",
  dir: "5",
  fifo: "6",
};

/**
 * Streaming POSIX tar (pax interchange format) for `coffer dump`: ustar headers, preceded
 * by a pax extended header whenever something does not fit ustar exactly — long or
 * non-ASCII names and link targets (raw bytes, so non-UTF-8 names survive; no `hdrcharset`
 * record because GNU tar 1.34 warns about it and already treats the bytes as opaque),
 * nanosecond times, big ids/sizes, long or non-ASCII user/group names, xattrs.
 * Holes are not preserved (sparse files are written in full). GNU tar and bsdtar read it.
 *
 * Respects backpressure: every write awaits `drain` when the stream asks.
 */
export class TarWriter {
  private finished = false;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /**
   * Appends one member. For files, `content` must yield exactly `size` bytes, else a
   * `CORRUPT` error is thrown (the archive is then unusable: stop writing).
   */
  async add(e: TarEntry, content?: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.finished) throw new CofferError("BAD_INPUT", "Cannot add to a finished tar archive");
    const size = e.kind === "file" ? BigInt(e.size ?? 0) : 0n;
    let name = e.path;
    if (e.kind === "dir" && name[name.length - 1] !== 0x2f)
      name = Buffer.concat([name, Buffer.from("/")]);
    const pax: [string, Buffer][] = [];
    const ustar = Buffer.alloc(BLOCK);

    const split = splitUstarName(name);
    if (split === undefined) pax.push(["path", name]);
    else {
      split.name.copy(ustar, 0);
      split.prefix.copy(ustar, 345);
    }
    const link = e.linkTarget ?? Buffer.alloc(0);
    if (link.length > 100 || !isAscii(link)) pax.push(["linkpath", link]);
    else link.copy(ustar, 157);

    octal(ustar, 100, 8, BigInt(e.mode & 0o7777), pax, undefined);
    octal(ustar, 108, 8, BigInt(e.uid), pax, "uid");
    octal(ustar, 116, 8, BigInt(e.gid), pax, "gid");
    octal(ustar, 124, 12, size, pax, "size");
    const sec = floorDiv(e.mtimeNs, 1_000_000_000n);
    octal(ustar, 136, 12, sec < 0n ? 0n : sec, pax, undefined);
    if (sec < 0n || e.mtimeNs % 1_000_000_000n !== 0n)
      pax.push(["mtime", Buffer.from(paxTime(e.mtimeNs))]);
    if (e.atimeNs !== undefined) pax.push(["atime", Buffer.from(paxTime(e.atimeNs))]);
    if (e.ctimeNs !== undefined) pax.push(["ctime", Buffer.from(paxTime(e.ctimeNs))]);
    ustar.write(TYPE[e.kind], 156, "latin1");
    ustar.write("ustar\0" + "00", 257, "latin1");
    for (const [val, off, key] of [
      [e.user, 265, "uname"],
      [e.group, 297, "gname"],
    ] as const) {
      if (val === undefined) continue;
      const bytes = Buffer.from(val, "utf8");
      if (bytes.length > 31 || !isAscii(bytes)) pax.push([key, bytes]);
      else bytes.copy(ustar, off);
    }
    if ((e.kind === "chardev" || e.kind === "blockdev") && e.rdev !== undefined) {
      const r = e.rdev;
      const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
      const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
      octal(ustar, 329, 8, major, pax, undefined);
      octal(ustar, 337, 8, minor, pax, undefined);
    }
    for (const x of e.xattrs ?? []) pax.push([`SCHILY.xattr.${x.name}`, x.value]);
    checksum(ustar);

    if (pax.length > 0) {
      const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
      const h = Buffer.alloc(BLOCK);
      const base = name.subarray(name.lastIndexOf(0x2f, name.length - 2) + 1);
      h.write(
        ("PaxHeaders/" + base.subarray(0, 80).toString("latin1")).replace(/[^\x20-\x7e]/g, "_"),
        0,
        "latin1",
      );
      octal(h, 100, 8, 0o644n, [], undefined);
      octal(h, 108, 8, 0n, [], undefined);
      octal(h, 116, 8, 0n, [], undefined);
      octal(h, 124, 12, BigInt(records.length), [], undefined);
      octal(h, 136, 12, sec < 0n ? 0n : sec, [], undefined);
      h.write("x", 156, "latin1");
      h.write("ustar\0" + "00", 257, "latin1");
      checksum(h);
      await this.write(Buffer.concat([h, records, Buffer.alloc(pad(records.length)), ustar]));
    } else {
      await this.write(ustar);
    }

    if (e.kind !== "file") return;
    let written = 0n;
    if (content !== undefined) {
      for await (const chunk of content) {
        written += BigInt(chunk.length);
        if (written > size) break;
        await this.write(chunk);
      }
    }
    if (written !== size) {
      throw new CofferError(
        "CORRUPT",
        `Cannot write ${e.path.toString()} to tar: expected ${size} bytes, got ${written}${written > size ? "+" : ""}`,
      );
    }
    const p = pad(Number(size % 512n));
    if (p > 0) await this.write(Buffer.alloc(p));
  }

  /** Writes the end-of-archive marker (two zero blocks). Does not end `out`. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.write(Buffer.alloc(2 * BLOCK));
  }

  private async write(b: Uint8Array): Promise<void> {
    if (!this.out.write(b)) await once(this.out as unknown as NodeJS.EventEmitter, "drain");
  }
}

function pad(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** `SEC.NNNNNNNNN` (or `SEC` when whole), negative times as `-SEC.NNN`. */
function paxTime(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  const s = a / 1_000_000_000n;
  const f = a % 1_000_000_000n;
  return `${neg ? "-" : ""}${s}${f === 0n ? "" : "." + f.toString().padStart(9, "0")}`;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Writes `v` as NUL-terminated octal; when it does not fit, writes 0 and a pax record. */
function octal(
  h: Buffer,
  off: number,
  width: number,
  v: bigint,
  pax: [string, Buffer][],
  key: string | undefined,
): void {
  const s = v.toString(8);
  if (v < 0n || s.length > width - 1) {
    if (key !== undefined) pax.push([key, Buffer.from(v.toString())]);
    h.write("0".repeat(width - 1), off, "latin1");
    return;
  }
  h.write(s.padStart(width - 1, "0"), off, "latin1");
}

function checksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
}

function isAscii(b: Buffer): boolean {
  for (const c of b) if (c === 0 || c > 0x7e) return false;
  return true;
}

/** ustar `prefix/name` split, or undefined when the path needs a pax `path` record. */
function splitUstarName(p: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (!isAscii(p)) return undefined;
  if (p.length <= 100) return { prefix: Buffer.alloc(0), name: p };
  for (let i = p.length - 1; i > 0; i--) {
    if (p[i] === 0x2f && i <= 155 && p.length - i - 1 <= 100 && p.length - i - 1 > 0) {
      return { prefix: p.subarray(0, i), name: p.subarray(i + 1) };
    }
  }
  return undefined;
}
