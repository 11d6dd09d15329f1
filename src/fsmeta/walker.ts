import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { resolve } from "node:path";
import { CofferError, fromSystemError } from "../core/errors.ts";
import { type EntryKind, type EntryStat, kindOfMode, toEntryStat } from "./entry-stat.ts";
import { Glob, parsePatternFile } from "./glob.ts";

export type { EntryKind, EntryStat } from "./entry-stat.ts";

/** One filesystem object found by the walker. */
export interface WalkEntry {
  /** Absolute path, raw bytes (names may be any bytes, not only UTF-8). */
  path: Buffer;
  /** Last path component (for a root: its basename; `/` for the filesystem root). */
  name: Buffer;
  /** The absolute root path this entry was found under. */
  root: Buffer;
  /** Path relative to `root`, empty for the root itself. */
  relPath: Buffer;
  /** 0 for a root, 1 for its children, ... */
  depth: number;
  kind: EntryKind;
  stat: EntryStat;
  /** Symlink target bytes, for `kind === "symlink"` (absent if readlink failed, with a warning). */
  linkTarget?: Buffer;
  /**
   * Set on a directory whose children were not walked: `"other-device"` (one-file-system
   * mount point, the directory itself is still reported as restic does) or `"unreadable"`
   * (readdir failed; a warning was emitted).
   */
  contentsSkipped?: "other-device" | "unreadable";
}

/** A problem the walker stepped over (it always carries on). */
export interface WalkWarning {
  path: Buffer;
  op: "lstat" | "readdir" | "readlink";
  /** One line, e.g. `Cannot read directory /srv/x: permission denied`. */
  message: string;
  error: unknown;
}

/** Walker options (see {@link walkEvents}). */
export interface WalkOptions {
  /** Exclude globs (restic semantics, see {@link Glob}); matched against absolute paths. */
  excludes?: readonly (string | Uint8Array)[];
  /** Files holding one exclude glob per line (`#` comments); unreadable → `BAD_INPUT`. */
  excludeFiles?: readonly (string | Buffer)[];
  /** Do not descend into directories on another device than their root. */
  oneFileSystem?: boolean;
  /** Called for each unreadable directory, vanished entry or unreadable link. */
  onWarning?: (w: WalkWarning) => void;
  /** Aborting makes the walk throw `INTERRUPTED`. */
  signal?: AbortSignal;
  /** How many `lstat` calls run at once per directory (default 32). */
  statConcurrency?: number;
}

/**
 * Walk events, in depth-first, name-byte-sorted order:
 * - `enter`: a directory, before any of its descendants;
 * - `entry`: anything that is not a directory (file, symlink, fifo, socket, devices);
 * - `leave`: the same directory after all its descendants, with `children`, its direct
 *   children that were reported (sorted by name bytes, excludes and vanished entries removed).
 *
 * `leave` is what a bottom-up tree builder needs: when it arrives, every child has already
 * been seen, so the engine can finish the child file/subtree jobs it started and emit the
 * tree blob for this directory (a post-order traversal without buffering the whole walk).
 */
export type WalkEvent =
  | { type: "enter"; entry: WalkEntry }
  | { type: "entry"; entry: WalkEntry }
  | { type: "leave"; entry: WalkEntry; children: WalkEntry[] };

const SLASH = Buffer.from("/");

/** Loads and compiles `excludes` plus the patterns of `excludeFiles`. */
export async function loadExcludes(
  o: Pick<WalkOptions, "excludes" | "excludeFiles">,
): Promise<Glob[]> {
  const patterns: (string | Uint8Array)[] = [...(o.excludes ?? [])];
  for (const f of o.excludeFiles ?? []) {
    let content: Buffer;
    try {
      content = await readFile(f);
    } catch (err) {
      const e = fromSystemError(err, `Cannot read exclude file ${f.toString()}`);
      throw new CofferError("BAD_INPUT", e.message, { cause: err });
    }
    patterns.push(...parsePatternFile(content));
  }
  return patterns.map((p) => new Glob(p));
}

/**
 * Walks `roots` (made absolute, walked in the order given) depth-first, children sorted by
 * name bytes, never following symlinks. See {@link WalkEvent}. Roots that cannot be
 * `lstat`ed produce a warning and are skipped.
 */
export async function* walkEvents(
  roots: readonly (string | Buffer)[],
  opts: WalkOptions = {},
): AsyncGenerator<WalkEvent> {
  const excludes = await loadExcludes(opts);
  const warn = opts.onWarning ?? (() => undefined);
  const conc = Math.max(1, opts.statConcurrency ?? 32);
  const isExcluded = (p: Buffer): boolean => excludes.some((g) => g.matches(p));

  for (const r of roots) {
    const rootPath = absoluteBuffer(r);
    if (isExcluded(rootPath)) continue;
    const rootEntry = await statEntry(
      rootPath,
      lastComponent(rootPath),
      rootPath,
      Buffer.alloc(0),
      0,
      warn,
    );
    if (rootEntry === undefined) continue;
    if (rootEntry.kind !== "dir") {
      yield { type: "entry", entry: rootEntry };
      continue;
    }
    const rootDev = rootEntry.stat.dev;
    interface Frame {
      entry: WalkEntry;
      children: WalkEntry[];
      next: number;
    }
    const stack: Frame[] = [];
    const open = async (dir: WalkEntry): Promise<void> => {
      stack.push({
        entry: dir,
        children: await listChildren(dir, isExcluded, warn, conc),
        next: 0,
      });
    };
    yield { type: "enter", entry: rootEntry };
    await open(rootEntry);
    while (stack.length > 0) {
      if (opts.signal?.aborted === true) throw new CofferError("INTERRUPTED", "Walk interrupted");
      const top = stack[stack.length - 1]!;
      const child = top.children[top.next++];
      if (child === undefined) {
        stack.pop();
        yield { type: "leave", entry: top.entry, children: top.children };
        continue;
      }
      if (child.kind !== "dir") {
        yield { type: "entry", entry: child };
        continue;
      }
      if (opts.oneFileSystem === true && child.stat.dev !== rootDev) {
        child.contentsSkipped = "other-device";
        yield { type: "enter", entry: child };
        yield { type: "leave", entry: child, children: [] };
        continue;
      }
      yield { type: "enter", entry: child };
      await open(child);
    }
  }
}

/** Pre-order walk: every entry once, a directory before its children. */
export async function* walk(
  roots: readonly (string | Buffer)[],
  opts: WalkOptions = {},
): AsyncGenerator<WalkEntry> {
  for await (const ev of walkEvents(roots, opts)) if (ev.type !== "leave") yield ev.entry;
}

function absoluteBuffer(p: string | Buffer): Buffer {
  if (typeof p === "string") return Buffer.from(resolve(p), "utf8");
  if (p[0] === 0x2f) return normalizeBuffer(p);
  return normalizeBuffer(Buffer.concat([Buffer.from(process.cwd()), SLASH, p]));
}

/** Removes empty, `.` components and trailing slashes, resolves `..` lexically (bytes kept). */
function normalizeBuffer(p: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      const c = p.subarray(start, i);
      if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) {
        // skip
      } else if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) parts.pop();
      else parts.push(c);
      start = i + 1;
    }
  }
  if (parts.length === 0) return Buffer.from("/");
  return Buffer.concat(parts.flatMap((c) => [SLASH, c]));
}

function lastComponent(p: Buffer): Buffer {
  const i = p.lastIndexOf(0x2f);
  return p.length === 1 ? Buffer.from(p) : p.subarray(i + 1);
}

function joinPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 1 && dir[0] === 0x2f
    ? Buffer.concat([SLASH, name])
    : Buffer.concat([dir, SLASH, name]);
}

function show(p: Buffer): string {
  return p.toString("utf8");
}

async function statEntry(
  path: Buffer,
  name: Buffer,
  root: Buffer,
  relPath: Buffer,
  depth: number,
  warn: (w: WalkWarning) => void,
): Promise<WalkEntry | undefined> {
  let stat: EntryStat;
  try {
    stat = toEntryStat(await lstat(path, { bigint: true }));
  } catch (err) {
    const e = fromSystemError(err, `Cannot stat ${show(path)}`);
    warn({ path, op: "lstat", message: e.message, error: err });
    return undefined;
  }
  const entry: WalkEntry = { path, name, root, relPath, depth, kind: kindOfMode(stat.mode), stat };
  if (entry.kind === "symlink") {
    try {
      entry.linkTarget = await readlink(path, { encoding: "buffer" });
    } catch (err) {
      const e = fromSystemError(err, `Cannot read symlink ${show(path)}`);
      warn({ path, op: "readlink", message: e.message, error: err });
    }
  }
  return entry;
}

async function listChildren(
  dir: WalkEntry,
  isExcluded: (p: Buffer) => boolean,
  warn: (w: WalkWarning) => void,
  conc: number,
): Promise<WalkEntry[]> {
  let names: Buffer[];
  try {
    names = await readdir(dir.path, { encoding: "buffer" });
  } catch (err) {
    const e = fromSystemError(err, `Cannot read directory ${show(dir.path)}`);
    warn({ path: dir.path, op: "readdir", message: e.message, error: err });
    dir.contentsSkipped = "unreadable";
    return [];
  }
  names.sort((x, y) => Buffer.compare(x, y));
  const todo: { path: Buffer; name: Buffer }[] = [];
  for (const name of names) {
    const path = joinPath(dir.path, name);
    if (!isExcluded(path)) todo.push({ path, name });
  }
  const out: (WalkEntry | undefined)[] = new Array<WalkEntry | undefined>(todo.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = next++;
      const t = todo[i]!;
      const rel = dir.relPath.length === 0 ? t.name : Buffer.concat([dir.relPath, SLASH, t.name]);
      out[i] = await statEntry(t.path, t.name, dir.root, rel, dir.depth + 1, warn);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, todo.length) }, worker));
  return out.filter((e): e is WalkEntry => e !== undefined);
}
