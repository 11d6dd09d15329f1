import { execFileSync, spawnSync } from "node:child_process";
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeXattrs } from "../xattrs.ts";

export {
  compareTrees,
  formatDifferences,
  type TreeDifference,
  type CompareOptions,
} from "./compare-trees.ts";

/** Options for {@link makeTree}. Defaults build the full tree. */
export interface MakeTreeOptions {
  /** Size of `large.bin` (deterministic pseudo-random bytes). Default 3 MiB. */
  largeSize?: number;
  /** Apparent size of `sparse.img` (4 KiB of data at each end, a hole between). Default 64 MiB. */
  sparseSize?: number;
  /** Create `special/fifo` and `special/socket`. Default true. */
  specials?: boolean;
  /** Create `special/unreadable` (mode 000). Default true. */
  unreadable?: boolean;
}

/** What {@link makeTree} built, as paths relative to `root` (Buffers: some are not UTF-8). */
export interface MadeTree {
  /** Absolute root directory. */
  root: string;
  /** Relative paths of notable entries. */
  paths: {
    regular: Buffer;
    empty: Buffer;
    large: Buffer;
    sparse: Buffer;
    /** Three names of one inode. */
    hardlinks: [Buffer, Buffer, Buffer];
    symlink: Buffer;
    dangling: Buffer;
    nonUtf8File: Buffer;
    nonUtf8Dir: Buffer;
    deepLeaf: Buffer;
    xattrFile: Buffer;
    xattrDir: Buffer;
    readonlyDir: Buffer;
    setuid: Buffer;
    fifo?: Buffer;
    socket?: Buffer;
    unreadable?: Buffer;
  };
  /**
   * Whether `paths.unreadable` really fails to open for *this* process. As root it does not
   * (CAP_DAC_OVERRIDE reads mode 000 files); run the code under test through
   * {@link withoutDacOverride} to make it unreadable for a root process too.
   */
  unreadableEffective: boolean;
  /** Whether ownership was varied (uid 1234/gid 5678 and 65534), only possible as root. */
  ownersVaried: boolean;
}

/** Whether this process runs as root (ownership tests need it). */
export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * An argv prefix that runs a command as root **without** CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH (via util-linux `setpriv`), so mode-000 files are unreadable even for
 * root: `spawn(prefix[0], [...prefix.slice(1), process.execPath, script])`. Empty when not
 * root (nothing to drop).
 */
export function withoutDacOverride(): string[] {
  return isRoot() ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] : [];
}

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const j = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.flatMap((p, i) => (i === 0 ? [] : [b("/")]).concat(typeof p === "string" ? b(p) : p)),
  );

/** Deterministic pseudo-random bytes (xorshift32), so tests are reproducible. */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = n - (n % 4); i < n; i++) out[i] = i & 0xff;
  return out;
}

/**
 * Builds a rich test tree under `root` (created if missing, must be empty):
 *
 * regular/empty/large/sparse files; three hard links of one inode across directories;
 * relative, absolute and dangling symlinks; non-UTF-8 file and directory names (`f\xff\xfe`,
 * `d\xc3\x28`), UTF-8 and whitespace/newline names; a 20-level deep directory; `user.*`
 * xattrs on a file (text and binary values), a directory and a non-UTF-8-named file; modes
 * 04755, 02775 (dir), 01777 (dir), 0600, 0777, 0555 (read-only dir with children); as root,
 * odd owners (1234:5678, 65534:65534); a FIFO; a (stale) unix socket made by a `net` server
 * listening then closed after renaming its path; a mode-000 file (see
 * {@link MadeTree.unreadableEffective}). Every entry then gets a distinct mtime and atime with
 * nanoseconds (set with GNU `touch -h -d @S.NNNNNNNNN`, children before parents).
 */
export async function makeTree(root: string, opts: MakeTreeOptions = {}): Promise<MadeTree> {
  await mkdir(root, { recursive: true });
  const R = b(root);
  const abs = (rel: Buffer): Buffer => Buffer.concat([R, b("/"), rel]);
  const mkd = (rel: Buffer, mode = 0o755): Promise<void> =>
    mkdir(abs(rel), { recursive: true }).then(() => chmod(abs(rel), mode));
  const put = async (rel: Buffer, data: Uint8Array | string, mode = 0o644): Promise<void> => {
    await writeFile(abs(rel), data);
    await chmod(abs(rel), mode);
  };

  const paths: MadeTree["paths"] = {
    regular: b("regular.txt"),
    empty: b("empty"),
    large: b("large.bin"),
    sparse: b("sparse.img"),
    hardlinks: [j("hard", "a"), j("hard", "b"), j("links", "c-hardlink")],
    symlink: j("links", "to-regular"),
    dangling: j("links", "dangling"),
    nonUtf8File: j("names", Buffer.from([0x66, 0xff, 0xfe])),
    nonUtf8Dir: j("names", Buffer.from([0x64, 0xc3, 0x28])),
    deepLeaf: j(...Array.from({ length: 20 }, (_, i) => `d${i}`), "leaf"),
    xattrFile: j("xattr", "file"),
    xattrDir: j("xattr", "dir"),
    readonlyDir: j("modes", "readonly-dir"),
    setuid: j("modes", "setuid"),
  };

  await put(paths.regular, "hello, coffer\n");
  await put(paths.empty, "");
  await put(paths.large, pseudoRandomBytes(opts.largeSize ?? 3 * 1024 * 1024));
  const sparseSize = opts.sparseSize ?? 64 * 1024 * 1024;
  {
    const fh = await open(abs(paths.sparse), "w", 0o644);
    await fh.write(pseudoRandomBytes(4096, 7), 0, 4096, 0);
    await fh.write(pseudoRandomBytes(4096, 8), 0, 4096, sparseSize - 4096);
    await fh.close();
  }
  await mkd(b("hard"));
  await mkd(b("links"));
  await put(paths.hardlinks[0], pseudoRandomBytes(10000, 3), 0o640);
  await link(abs(paths.hardlinks[0]), abs(paths.hardlinks[1]));
  await link(abs(paths.hardlinks[0]), abs(paths.hardlinks[2]));
  await symlink(b("../regular.txt"), abs(paths.symlink));
  await symlink(b("does/not/exist"), abs(paths.dangling));
  await symlink(b("/nonexistent/absolute/target"), abs(j("links", "absolute")));
  await symlink(Buffer.from([0x74, 0xff]), abs(j("links", "non-utf8-target")));

  await mkd(b("names"));
  await put(paths.nonUtf8File, "non-utf8 name\n");
  await mkd(paths.nonUtf8Dir);
  await put(j(paths.nonUtf8Dir, Buffer.from([0x80])), "inside non-utf8 dir\n");
  await put(j("names", "ünïcødé ✓.txt"), "utf-8 name\n");
  await put(j("names", " with space\nand newline "), "odd name\n");
  await put(j("names", "-dash"), "dash\n");

  await mkd(paths.deepLeaf.subarray(0, paths.deepLeaf.lastIndexOf(0x2f)));
  await put(paths.deepLeaf, "deep\n");

  await mkd(b("xattr"));
  await put(paths.xattrFile, "has xattrs\n");
  await mkd(paths.xattrDir);
  const warnings: string[] = [];
  const onWarning = (w: { message: string }): void => {
    warnings.push(w.message);
  };
  await writeXattrs(
    abs(paths.xattrFile),
    "file",
    [
      { name: "user.coffer.text", value: b("value") },
      { name: "user.coffer.binary", value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
      { name: "user.coffer.empty", value: Buffer.alloc(0) },
    ],
    onWarning,
  );
  await writeXattrs(
    abs(paths.xattrDir),
    "dir",
    [{ name: "user.coffer.dir", value: b("d") }],
    onWarning,
  );
  await writeXattrs(
    abs(paths.nonUtf8File),
    "file",
    [{ name: "user.coffer.nonutf8", value: b("n") }],
    onWarning,
  );
  if (warnings.length > 0)
    throw new Error(`makeTree: xattrs unsupported here: ${warnings.join("; ")}`);

  await mkd(b("modes"));
  await put(paths.setuid, "#!/bin/sh\n", 0o4755);
  await put(j("modes", "private"), "private\n", 0o600);
  await put(j("modes", "open"), "open\n", 0o777);
  await mkd(j("modes", "setgid-dir"), 0o2775);
  await mkd(j("modes", "sticky-dir"), 0o1777);
  await mkd(paths.readonlyDir, 0o755);
  await put(j(paths.readonlyDir, "child"), "in a read-only dir\n");
  await chmod(abs(paths.readonlyDir), 0o555);

  const ownersVaried = isRoot();
  if (ownersVaried) {
    await mkd(b("owners"));
    await put(j("owners", "numeric"), "uid 1234\n");
    await chown(abs(j("owners", "numeric")), 1234, 5678);
    await put(j("owners", "nobody"), "nobody\n");
    await chown(abs(j("owners", "nobody")), 65534, 65534);
    await symlink(b("nobody"), abs(j("owners", "link-owned")));
    const { lchown } = await import("node:fs/promises");
    await lchown(abs(j("owners", "link-owned")), 1234, 5678);
  }

  let unreadableEffective = false;
  if (opts.specials !== false || opts.unreadable !== false) await mkd(b("special"));
  if (opts.specials !== false) {
    paths.fifo = j("special", "fifo");
    execFileSync("mkfifo", ["-m", "0640", `${root}/special/fifo`]);
    paths.socket = j("special", "socket");
    await makeSocketFile(`${root}/special/socket`);
  }
  if (opts.unreadable !== false) {
    paths.unreadable = j("special", "unreadable");
    await put(paths.unreadable, "secret\n", 0o000);
    try {
      const fh = await open(abs(paths.unreadable), "r");
      await fh.close();
    } catch {
      unreadableEffective = true;
    }
  }

  await setDistinctTimes(R);
  return { root, paths, unreadableEffective, ownersVaried };
}

/** Removes a tree made by {@link makeTree} (restoring write permission on directories first). */
export async function removeTree(root: string): Promise<void> {
  const fix = async (dir: Buffer): Promise<void> => {
    await chmod(dir, 0o755).catch(() => undefined);
    const names = await readdir(dir, { encoding: "buffer" }).catch(() => [] as Buffer[]);
    for (const n of names) {
      const p = Buffer.concat([dir, b("/"), n]);
      const st = await lstat(p).catch(() => undefined);
      if (st?.isDirectory() === true) await fix(p);
    }
  };
  await fix(b(root));
  await rm(root, { recursive: true, force: true });
}

/** A unix socket file that outlives its server: listen on a temp path, rename, close. */
async function makeSocketFile(final: string): Promise<void> {
  const tmp = join(
    final.length < 100 ? final.slice(0, final.lastIndexOf("/")) : tmpdir(),
    `.sock-${process.pid}`,
  );
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(tmp, res);
  });
  await rename(tmp, final);
  await new Promise<void>((res) =>
    server.close(() => {
      res();
    }),
  );
}

/**
 * Gives every entry under root (and root itself) a distinct mtime/atime with a non-zero
 * sub-microsecond part, deepest first so directory times are not disturbed afterwards.
 */
async function setDistinctTimes(root: Buffer): Promise<void> {
  const all: { p: Buffer; depth: number }[] = [];
  const visit = async (p: Buffer, depth: number): Promise<void> => {
    all.push({ p, depth });
    const st = await lstat(p);
    if (!st.isDirectory()) return;
    for (const n of (await readdir(p, { encoding: "buffer" })).sort((x, y) => Buffer.compare(x, y)))
      await visit(Buffer.concat([p, b("/"), n]), depth + 1);
  };
  await visit(root, 0);
  // Stable post-order: deepest first. Each record: time NUL path NUL, consumed by a bash loop.
  const order = all.map((e, i) => ({ ...e, i })).sort((x, y) => y.depth - x.depth || x.i - y.i);
  const chunks: Buffer[] = [];
  for (const e of order) {
    const mtime = `${1_600_000_000 + e.i * 3601}.${String(123_456_789 + e.i * 1_001).padStart(9, "0")}`;
    const atime = `${1_500_000_000 + e.i * 7}.${String(987_654_321 - e.i * 13).padStart(9, "0")}`;
    chunks.push(b(mtime), Buffer.from([0]), b(atime), Buffer.from([0]), e.p, Buffer.from([0]));
  }
  const script =
    'while IFS= read -r -d "" m && IFS= read -r -d "" a && IFS= read -r -d "" p; do ' +
    'touch -h -c -m -d "@$m" -- "$p" && touch -h -c -a -d "@$a" -- "$p" || exit 1; done';
  const r = spawnSync("bash", ["-c", script], { input: Buffer.concat(chunks) });
  if (r.status !== 0) throw new Error(`makeTree: setting times failed: ${r.stderr.toString()}`);
}
