import { link, unlink } from "node:fs/promises";

/** Identity of an inode: `(dev, ino)` as recorded in the tree (`devId`, `inode`). */
export interface InodeKey {
  dev: bigint;
  ino: bigint;
}

const keyOf = (k: InodeKey): string => `${k.dev}:${k.ino}`;

/**
 * Backup side: remembers the first path seen for each multiply-linked inode, so later
 * occurrences can be recorded as hard links (and their contents not read twice).
 */
export class HardlinkTracker {
  private readonly first = new Map<string, Buffer>();

  /**
   * For a file with `nlink > 1`: returns the first path recorded for its inode, or records
   * `path` and returns `undefined` when this is the first occurrence. Files with
   * `nlink <= 1` are never tracked (returns `undefined`).
   */
  firstPath(k: InodeKey & { nlink: number }, path: Buffer): Buffer | undefined {
    if (k.nlink <= 1) return undefined;
    const key = keyOf(k);
    const f = this.first.get(key);
    if (f !== undefined) return f;
    this.first.set(key, path);
    return undefined;
  }

  /** Number of distinct multiply-linked inodes seen. */
  get size(): number {
    return this.first.size;
  }
}

interface Slot {
  path: Buffer;
  /** Resolves true when the first occurrence's content was restored. */
  ready: Promise<boolean>;
  settle: (ok: boolean) => void;
}

/**
 * Restore side: for nodes with `links > 1`, the first occurrence restored is written
 * normally; every later occurrence with the same recorded `(devId, inode)` becomes a hard
 * link to it (`fs.link`). Safe with concurrent restores: a later occurrence waits until the
 * first one reports {@link done}.
 */
export class HardlinkRestorer {
  private readonly slots = new Map<string, Slot>();

  /**
   * Call before restoring a multiply-linked file at `path`. Returns:
   * - `"write"`: restore the contents yourself, then call {@link done} (you are the first
   *   occurrence, or linking to the first one was impossible: it failed, or `fs.link`
   *   refused, e.g. across devices);
   * - `"linked"`: `path` is now a hard link to the first restored occurrence (an existing
   *   file at `path` was replaced); contents and metadata are shared, nothing else to do.
   */
  async claim(k: InodeKey, path: Buffer): Promise<"write" | "linked"> {
    const key = keyOf(k);
    const slot = this.slots.get(key);
    if (slot === undefined) {
      let settle!: (ok: boolean) => void;
      const ready = new Promise<boolean>((res) => {
        settle = res;
      });
      this.slots.set(key, { path, ready, settle });
      return "write";
    }
    if (!(await slot.ready)) return "write";
    try {
      await link(slot.path, path);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "EEXIST") return "write";
      try {
        await unlink(path);
        await link(slot.path, path);
      } catch {
        return "write";
      }
    }
    return "linked";
  }

  /**
   * Reports whether the first occurrence at `path` was restored (`ok`) so waiting and later
   * occurrences link to it. Ignored for paths that were not the first occurrence. When the
   * first occurrence failed, the next claimant becomes the first.
   */
  done(k: InodeKey, path: Buffer, ok: boolean): void {
    const key = keyOf(k);
    const slot = this.slots.get(key);
    if (slot === undefined || !slot.path.equals(path)) return;
    if (!ok) this.slots.delete(key);
    slot.settle(ok);
  }
}
