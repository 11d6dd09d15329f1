import type { Clock } from "../core/deps.ts";
import { CofferError, isCofferError } from "../core/errors.ts";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { TreeNode } from "../format/tree.ts";
import { BlobCache } from "./blob-cache.ts";
import { ROOT_INO } from "./ino.ts";
import { buildLayout, type Layout, type TimeFormatter } from "./layout.ts";
import { blobStarts, planRead } from "./read-plan.ts";
import { snapshotChild, virtualNode, type VNode } from "./vnode.ts";
import { virtualList } from "./virtual-dirs.ts";

/** What the browse tree reads: a repository (see repository-source.ts) or a test fake. */
export interface VfsSource {
  /** The snapshots to show, oldest first (already filtered). */
  listSnapshots(): Promise<FoundSnapshot[]>;
  loadTree(id: string): Promise<TreeNode[]>;
  /** A data blob's verified plaintext. */
  loadBlob(id: string): Promise<Uint8Array>;
  /** A data blob's plaintext size from the index, or undefined when no index names it. */
  blobSize(id: string): number | undefined;
}

/** Options for {@link BrowseTree}. */
export interface BrowseTreeOptions {
  clock: Clock;
  /** Names of snapshot directories (see `localTimeFormatter`). */
  formatTime: TimeFormatter;
  /** The snapshot list is reloaded on access once it is this old (default 60 s). */
  refreshMs?: number;
  /** Bound of the decoded-blob cache (default 64 MiB). */
  cacheBytes?: number;
  /** Blobs fetched ahead of a read, for sequential readers (default 2). */
  readAhead?: number;
  /** Owner of the virtual directories (default root). */
  owner?: { uid: number; gid: number };
  /** A refresh that failed (the old snapshot list stays). */
  onRefreshError?: (err: unknown) => void;
}

const DIR_CACHE = 512;

/**
 * The read-only browse tree of a repository, independent of FUSE and WebDAV: maps the
 * top levels (`snapshots/<local time>/`, `ids/<id>`, `latest`, `hosts/<host>/latest`,
 * `tags/<tag>/latest`) and snapshot contents to {@link VNode}s with stable inode numbers,
 * and reads byte ranges of files by decoding only the blobs they cover (through a bounded
 * LRU cache). `latest` and the other shortcuts are symlinks into `snapshots/`.
 */
export class BrowseTree {
  readonly cache: BlobCache;
  readonly #refreshMs: number;
  readonly #readAhead: number;
  readonly #owner: { uid: number; gid: number };
  #layout: Layout = buildLayout([], () => "");
  #refreshedAt = -Infinity;
  #refreshing: Promise<void> | undefined;
  readonly #dirs = new Map<string, VNode[]>();
  readonly #starts = new Map<string, number[]>();

  private constructor(
    readonly source: VfsSource,
    private readonly o: BrowseTreeOptions,
  ) {
    this.cache = new BlobCache(o.cacheBytes ?? 64 * 1024 * 1024);
    this.#refreshMs = o.refreshMs ?? 60_000;
    this.#readAhead = o.readAhead ?? 2;
    this.#owner = o.owner ?? { uid: 0, gid: 0 };
  }

  /** Opens the tree and loads the snapshot list (its errors are thrown). */
  static async open(source: VfsSource, o: BrowseTreeOptions): Promise<BrowseTree> {
    const t = new BrowseTree(source, o);
    await t.refresh(true);
    return t;
  }

  /** The current layout (snapshot names, shortcuts). */
  get layout(): Layout {
    return this.#layout;
  }

  /** The root directory (inode 1). */
  get root(): VNode {
    return virtualNode(ROOT_INO, "", "", "dir", this.#topTime(), this.#owner, { key: "" });
  }

  /**
   * Reloads the snapshot list now (SIGHUP). Concurrent calls share one reload. Unless
   * `throwErrors`, a failure keeps the old list and goes to `onRefreshError`.
   */
  async refresh(throwErrors = false): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const found = await this.source.listSnapshots();
        this.#layout = buildLayout(found, this.o.formatTime);
      } finally {
        this.#refreshedAt = this.o.clock.now();
        this.#refreshing = undefined;
      }
    })();
    try {
      await this.#refreshing;
    } catch (err) {
      if (throwErrors) throw err;
      this.o.onRefreshError?.(err);
    }
  }

  /** Refreshes when the list is older than the refresh interval. */
  async #fresh(): Promise<void> {
    if (this.o.clock.now() - this.#refreshedAt >= this.#refreshMs) await this.refresh();
  }

  #topTime(): bigint {
    return this.#layout.latest?.timeNs ?? 0n;
  }

  /** The entries of directory `dir`, in name order for snapshot directories. */
  async list(dir: VNode): Promise<VNode[]> {
    const src = dir.source;
    if (src.t === "virtual") {
      await this.#fresh();
      return virtualList(this.#layout, src.key, this.#owner);
    }
    if (src.t !== "tree")
      throw new CofferError("BAD_INPUT", `Cannot list ${dir.path}: not a directory`);
    const key = `${dir.ino.toString()}:${src.tree}`;
    const hit = this.#dirs.get(key);
    if (hit !== undefined) {
      this.#dirs.delete(key);
      this.#dirs.set(key, hit);
      return hit;
    }
    let nodes: TreeNode[];
    try {
      nodes = await this.source.loadTree(src.tree);
    } catch (err) {
      throw wrap(err, `Cannot list ${dir.path}`);
    }
    const parent = { ...dir, source: src };
    const out = nodes.map((n) => snapshotChild(parent, n));
    this.#dirs.set(key, out);
    if (this.#dirs.size > DIR_CACHE) this.#dirs.delete(this.#dirs.keys().next().value!);
    return out;
  }

  /** The entry `name` of directory `dir`, or undefined. */
  async lookup(dir: VNode, name: Uint8Array): Promise<VNode | undefined> {
    const entries = await this.list(dir);
    if (dir.source.t !== "tree") return entries.find((e) => e.name.equals(name));
    let lo = 0;
    let hi = entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = Buffer.compare(entries[mid]!.name, name);
      if (c === 0) return entries[mid];
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /**
   * Bytes `offset` … `offset + length` of a file (fewer at its end), decoding only the blobs
   * the range covers, then fetching the next `readAhead` blobs into the cache.
   * @throws CofferError CORRUPT / NOT_FOUND / IO `Cannot read <path>: …` naming the file.
   */
  async read(file: VNode, offset: number, length: number): Promise<Buffer> {
    const src = file.source;
    if (src.t !== "file")
      throw new CofferError("BAD_INPUT", `Cannot read ${file.path}: not a file`);
    const starts = this.#blobStarts(file, src.content);
    const plan = planRead(starts, offset, length);
    const load = (i: number): Promise<Uint8Array> => {
      const id = src.content[i]!;
      const want = starts[i + 1]! - starts[i]!;
      return this.cache.get(id, async () => {
        const b = await this.source.loadBlob(id);
        if (b.length !== want)
          throw new CofferError(
            "CORRUPT",
            `blob ${id.slice(0, 8)} has ${String(b.length)} bytes, the index says ${String(want)}`,
          );
        return b;
      });
    };
    let parts: Uint8Array[];
    try {
      parts = await Promise.all(
        plan.map(async (s) => (await load(s.index)).subarray(s.start, s.start + s.length)),
      );
    } catch (err) {
      throw wrap(err, `Cannot read ${file.path}`);
    }
    const last = plan.at(-1)?.index;
    if (last !== undefined) {
      for (let i = last + 1; i <= last + this.#readAhead && i < src.content.length; i++)
        if (!this.cache.has(src.content[i]!)) load(i).catch(() => undefined);
    }
    const only = parts.length === 1 ? parts[0]! : undefined;
    // one blob: a view of the cached plaintext (never written to), no copy
    return only !== undefined
      ? Buffer.from(only.buffer, only.byteOffset, only.byteLength)
      : Buffer.concat(parts);
  }

  #blobStarts(file: VNode, content: readonly string[]): number[] {
    const key = file.ino.toString();
    const hit = this.#starts.get(key);
    if (hit !== undefined) return hit;
    const sizes = content.map((id) => {
      const n = this.source.blobSize(id);
      if (n === undefined)
        throw new CofferError(
          "CORRUPT",
          `Cannot read ${file.path}: blob ${id.slice(0, 8)} is not in any index`,
        );
      return n;
    });
    const starts = blobStarts(sizes);
    this.#starts.set(key, starts);
    if (this.#starts.size > DIR_CACHE) this.#starts.delete(this.#starts.keys().next().value!);
    return starts;
  }

  /**
   * Resolves a path of byte components from the root, following the virtual shortcuts
   * (`latest`, `ids/…`, `hosts/…/latest`) but not symlinks stored in snapshots. Undefined
   * when a component does not exist.
   */
  async resolve(parts: readonly Uint8Array[]): Promise<VNode | undefined> {
    const stack: VNode[] = [this.root];
    const queue: Buffer[] = parts.map((p) => Buffer.from(p));
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part.length === 0 || part.equals(DOT)) continue;
      if (part.equals(DOTDOT)) {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const dir = stack.at(-1)!;
      if (dir.kind !== "dir") return undefined;
      const next = await this.lookup(dir, part);
      if (next === undefined) return undefined;
      if (next.kind === "symlink" && !next.immutable && next.linkTarget !== undefined) {
        if (++hops > 8) return undefined;
        queue.unshift(...splitBytes(next.linkTarget));
        continue;
      }
      stack.push(next);
    }
    return stack.at(-1);
  }
}

const DOT = Buffer.from(".");
const DOTDOT = Buffer.from("..");

function splitBytes(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x2f) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

function wrap(err: unknown, what: string): CofferError {
  const msg = err instanceof Error ? err.message : String(err);
  return new CofferError(isCofferError(err) ? err.code : "IO", `${what}: ${msg}`, { cause: err });
}
