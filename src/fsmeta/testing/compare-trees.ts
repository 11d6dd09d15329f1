import { open } from "node:fs/promises";
import { hasNanosecondTimes } from "../utimens.ts";
import { walk, type WalkEntry } from "../walker.ts";
import { readXattrs } from "../xattrs.ts";

/** One way two trees differ. `path` is relative to the compared roots (raw bytes). */
export interface TreeDifference {
  path: Buffer;
  what:
    | "missing"
    | "extra"
    | "kind"
    | "mode"
    | "owner"
    | "mtime"
    | "atime"
    | "size"
    | "content"
    | "symlink"
    | "rdev"
    | "xattrs"
    | "hardlinks"
    | "sparse"
    | "unreadable";
  /** Human-readable `expected … got …`. */
  detail: string;
}

/** Options for {@link compareTrees}. */
export interface CompareOptions {
  /** Compare uid/gid. Default: true when running as root, else false. */
  owners?: boolean;
  /**
   * mtimes are compared after truncation to this many nanoseconds. Default: 1n (bit-exact)
   * when the native addon sets nanosecond times, else 1000n (restore keeps microseconds).
   */
  timePrecisionNs?: bigint;
  /** Compare atimes too (off by default: reading files during backup may update them). */
  atime?: boolean;
  /** Compare the two roots' own metadata (default false: a restore target dir is new). */
  root?: boolean;
  /** Compare xattrs of files and directories (default true). */
  xattrs?: boolean;
  /**
   * Check that holes survive: when a file in `a` has holes, `b`'s allocation may exceed
   * `a`'s by at most this many bytes. Default: half of `a`'s hole bytes (a restorer that
   * writes whole chunks around data keeps most holes). `false` disables the check.
   */
  sparseSlackBytes?: number | false;
  /** Skip entries for which this returns true (their subtree too), e.g. sockets and FIFOs. */
  ignore?: (relPath: Buffer, entry: WalkEntry) => boolean;
}

/**
 * Compares the trees under directories `a` (expected) and `b` (actual) bit-exactly and
 * returns every difference (empty when identical): presence, kind, permission bits
 * (`mode & 0o7777`, not for symlinks), owner, mtime (at `timePrecisionNs`), optional atime,
 * size and byte content, symlink targets, device numbers, xattrs, hard-link structure (which
 * paths share an inode, within each tree) and sparseness. ctime is never compared (it cannot
 * be restored).
 */
export async function compareTrees(
  a: string | Buffer,
  b: string | Buffer,
  o: CompareOptions = {},
): Promise<TreeDifference[]> {
  const owners = o.owners ?? process.getuid?.() === 0;
  const prec = o.timePrecisionNs ?? (hasNanosecondTimes() ? 1n : 1000n);
  const diffs: TreeDifference[] = [];
  const add = (path: Buffer, what: TreeDifference["what"], detail: string): void => {
    diffs.push({ path, what, detail });
  };
  const [ea, eb] = await Promise.all([collect(a, o), collect(b, o)]);
  const linksA = linkGroups(ea);
  const linksB = linkGroups(eb);

  for (const [key, x] of ea) {
    const y = eb.get(key);
    const p = x.relPath;
    if (y === undefined) {
      add(p, "missing", `${x.kind} missing`);
      continue;
    }
    if (x.kind !== y.kind) {
      add(p, "kind", `expected ${x.kind}, got ${y.kind}`);
      continue;
    }
    if (p.length === 0 && o.root !== true) continue;
    if (x.kind !== "symlink" && (x.stat.mode & 0o7777) !== (y.stat.mode & 0o7777)) {
      add(
        p,
        "mode",
        `expected 0${(x.stat.mode & 0o7777).toString(8)}, got 0${(y.stat.mode & 0o7777).toString(8)}`,
      );
    }
    if (owners && (x.stat.uid !== y.stat.uid || x.stat.gid !== y.stat.gid)) {
      add(p, "owner", `expected ${x.stat.uid}:${x.stat.gid}, got ${y.stat.uid}:${y.stat.gid}`);
    }
    if (x.stat.mtimeNs / prec !== y.stat.mtimeNs / prec)
      add(p, "mtime", `expected ${x.stat.mtimeNs}ns, got ${y.stat.mtimeNs}ns`);
    if (o.atime === true && x.stat.atimeNs / prec !== y.stat.atimeNs / prec)
      add(p, "atime", `expected ${x.stat.atimeNs}ns, got ${y.stat.atimeNs}ns`);
    if (
      x.kind === "symlink" &&
      !(x.linkTarget ?? Buffer.alloc(0)).equals(y.linkTarget ?? Buffer.alloc(0))
    ) {
      add(p, "symlink", `expected -> ${show(x.linkTarget)}, got -> ${show(y.linkTarget)}`);
    }
    if ((x.kind === "chardev" || x.kind === "blockdev") && x.stat.rdev !== y.stat.rdev)
      add(p, "rdev", `expected ${x.stat.rdev}, got ${y.stat.rdev}`);
    if (x.kind === "file") {
      if (x.stat.size !== y.stat.size)
        add(p, "size", `expected ${x.stat.size} bytes, got ${y.stat.size}`);
      else {
        const c = await sameContent(x.path, y.path);
        if (c !== true)
          add(p, c === false ? "content" : "unreadable", c === false ? "contents differ" : c);
      }
      const allocA = x.stat.blocks * 512n;
      const allocB = y.stat.blocks * 512n;
      if (o.sparseSlackBytes !== false && allocA < x.stat.size) {
        const slack =
          o.sparseSlackBytes === undefined
            ? (x.stat.size - allocA) / 2n
            : BigInt(o.sparseSlackBytes);
        if (allocB > allocA + slack)
          add(p, "sparse", `expected at most ${allocA + slack} bytes allocated, got ${allocB}`);
      }
      const ga = linksA.get(key) ?? key;
      const gb = linksB.get(key) ?? key;
      if (ga !== gb) add(p, "hardlinks", `expected links {${showKey(ga)}}, got {${showKey(gb)}}`);
    }
    if (o.xattrs !== false && (x.kind === "file" || x.kind === "dir")) {
      const [xa, xb] = await Promise.all([readXattrs(x.path, x.kind), readXattrs(y.path, y.kind)]);
      const fa = xa.map((e) => `${e.name}=${e.value.toString("base64")}`).join(",");
      const fb = xb.map((e) => `${e.name}=${e.value.toString("base64")}`).join(",");
      if (fa !== fb) add(p, "xattrs", `expected {${fa}}, got {${fb}}`);
    }
  }
  for (const [key, y] of eb) if (!ea.has(key)) add(y.relPath, "extra", `unexpected ${y.kind}`);
  return diffs;
}

/** One line per difference, for assertion messages. */
export function formatDifferences(diffs: readonly TreeDifference[]): string {
  return diffs
    .map((d) => `${d.what} ${JSON.stringify(d.path.toString("utf8"))}: ${d.detail}`)
    .join("\n");
}

async function collect(root: string | Buffer, o: CompareOptions): Promise<Map<string, WalkEntry>> {
  const out = new Map<string, WalkEntry>();
  const ignored: Buffer[] = [];
  for await (const e of walk([root], { onWarning: () => undefined })) {
    if (ignored.some((p) => isUnder(e.relPath, p))) continue;
    if (o.ignore?.(e.relPath, e) === true) {
      ignored.push(e.relPath);
      continue;
    }
    out.set(e.relPath.toString("latin1"), e);
  }
  return out;
}

function isUnder(p: Buffer, dir: Buffer): boolean {
  return p.length > dir.length && p[dir.length] === 0x2f && p.subarray(0, dir.length).equals(dir);
}

/** relPath key → all paths (sorted, NUL-joined) sharing its inode, for files with nlink > 1. */
function linkGroups(entries: Map<string, WalkEntry>): Map<string, string> {
  const byInode = new Map<string, string[]>();
  for (const [key, e] of entries) {
    if (e.kind !== "file" || e.stat.nlink < 2) continue;
    const id = `${e.stat.dev}:${e.stat.ino}`;
    const g = byInode.get(id);
    if (g === undefined) byInode.set(id, [key]);
    else g.push(key);
  }
  const out = new Map<string, string>();
  for (const g of byInode.values()) {
    const joined = g.sort().join("\0");
    for (const k of g) out.set(k, joined);
  }
  return out;
}

async function sameContent(pa: Buffer, pb: Buffer): Promise<true | false | string> {
  let fa, fb;
  try {
    fa = await open(pa, "r");
    fb = await open(pb, "r");
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const [ra, rb] = await Promise.all([
        fa.read(ba, 0, ba.length, null),
        fb.read(bb, 0, bb.length, null),
      ]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } catch (err) {
    return `cannot compare contents: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await fa?.close();
    await fb?.close();
  }
}

function show(p: Buffer | undefined): string {
  return JSON.stringify((p ?? Buffer.alloc(0)).toString("utf8"));
}

function showKey(k: string): string {
  return k
    .split("\0")
    .map((p) => JSON.stringify(Buffer.from(p, "latin1").toString("utf8")))
    .join(", ");
}
