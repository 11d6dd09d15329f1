import { isCofferError } from "../../core/errors.ts";
import type { BlobType } from "../../format/blob.ts";
import { shortId } from "../../format/ids.ts";
import type { TreeNode } from "../../format/tree.ts";
import type { Repository } from "../repository/index.ts";
import { joinPath } from "../repository/index.ts";

/** One damaged path of a snapshot and what the repair did to it. */
export interface PathChange {
  /** Path bytes relative to the tree the change was found in (absolute once reported). */
  path: Buffer;
  /** One line: what was lost and what remains. */
  what: string;
}

/** A tree after repair: the ID to reference, and what changed below it. */
export interface RewrittenTree {
  id: string;
  changes: PathChange[];
  /** Packs of every blob the (rewritten) tree reaches; new tree blobs are in `fresh`. */
  packs: Set<string>;
  /** Tree blobs written by this repair (their packs are known once the packer flushed). */
  fresh: Set<string>;
}

/** Tree loads in flight at once (range GETs on a remote repository). */
const LOADS = 8;

/**
 * Says whether a blob can still be read: indexed, and its pack present (a repository loaded
 * with `verifyPacks` keeps blobs of missing packs out of its table, in `held`).
 */
export function blobAvailable(repo: Repository, type: BlobType, id: string): boolean {
  if (repo.index.has(type, id)) return true;
  const held = repo.held.get(type, id);
  return held !== undefined && !repo.missingPacks.has(held.packId);
}

/**
 * Rewrites trees without what is lost, as restic's `repair snapshots`: a file keeps the
 * blobs that can still be read (its size shrinks to theirs), a directory whose listing
 * cannot be loaded becomes an empty directory. Each tree is rewritten once (memoised), its
 * changes reported relative to it. `save` stores a new tree blob and returns its ID.
 */
export class TreeRewriter {
  readonly #memo = new Map<string, Promise<RewrittenTree | undefined>>();
  /** Tree loads in flight, and those waiting for a slot (at most {@link LOADS} at once). */
  #loading = 0;
  readonly #waiting: (() => void)[] = [];
  /** Every blob found lost, as `data:<id>` / `tree:<id>`. */
  readonly lost = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly save: (nodes: TreeNode[]) => string,
  ) {}

  /** The repaired tree `id`, or undefined when its listing itself is lost. */
  rewrite(id: string): Promise<RewrittenTree | undefined> {
    let p = this.#memo.get(id);
    if (p === undefined) {
      p = this.#rewrite(id);
      // Awaited later, in order: a failure meanwhile must not count as unhandled.
      p.catch(() => undefined);
      this.#memo.set(id, p);
    }
    return p;
  }

  /** The empty tree (replacing a lost directory listing). */
  empty(): RewrittenTree {
    const id = this.save([]);
    const loc = this.repo.index.get("tree", id);
    return loc === undefined
      ? { id, changes: [], packs: new Set(), fresh: new Set([id]) }
      : { id, changes: [], packs: new Set([loc.packId]), fresh: new Set() };
  }

  async #load(id: string): Promise<TreeNode[] | undefined> {
    if (blobAvailable(this.repo, "tree", id)) {
      if (this.#loading >= LOADS) await new Promise<void>((r) => this.#waiting.push(r));
      this.#loading++;
      try {
        return await this.repo.loadTree(id);
      } catch (err) {
        if (!isCofferError(err, "CORRUPT") && !isCofferError(err, "NOT_FOUND")) throw err;
      } finally {
        this.#loading--;
        this.#waiting.shift()?.();
      }
    }
    this.lost.add(`tree:${id}`);
    return undefined;
  }

  async #rewrite(id: string): Promise<RewrittenTree | undefined> {
    const nodes = await this.#load(id);
    if (nodes === undefined) return undefined;
    const out: RewrittenTree = { id, changes: [], packs: new Set(), fresh: new Set() };
    const place = (type: BlobType, blob: string): void => {
      const loc = this.repo.locate(type, blob);
      if (loc !== undefined) out.packs.add(loc.packId);
    };
    // Subdirectories are rewritten concurrently (tree loads are bounded), results in order.
    const subs = new Map<string, Promise<RewrittenTree | undefined>>();
    for (const n of nodes)
      if (n.type === "dir" && n.subtree !== undefined) subs.set(n.subtree, this.rewrite(n.subtree));
    let changed = false;
    const kept: TreeNode[] = [];
    for (const n of nodes) {
      const node: TreeNode = { ...n };
      if (n.type === "file" && n.content !== undefined) {
        const content = n.content.filter((b) => {
          if (blobAvailable(this.repo, "data", b)) return true;
          this.lost.add(`data:${b}`);
          return false;
        });
        if (content.length !== n.content.length) {
          const size = content.reduce(
            (s, b) => s + (this.repo.locate("data", b)?.rawLength ?? 0),
            0,
          );
          const lost = n.content.length - content.length;
          out.changes.push({
            path: n.name,
            what:
              content.length === 0
                ? `file lost all ${n.content.length} blob(s): kept as an empty file (was ${n.size} bytes)`
                : `file lost ${lost} of ${n.content.length} blob(s): kept ${size} of ${n.size} bytes`,
          });
          node.content = content;
          node.size = size;
          changed = true;
        }
        for (const b of content) place("data", b);
      } else if (n.type === "dir" && n.subtree !== undefined) {
        let sub = await (subs.get(n.subtree) ?? this.rewrite(n.subtree));
        if (sub === undefined) {
          sub = this.empty();
          out.changes.push({
            path: n.name,
            what: `directory listing (tree ${shortId(n.subtree)}) lost: replaced by an empty directory`,
          });
        }
        for (const c of sub.changes)
          out.changes.push({ path: joinPath(n.name, c.path), what: c.what });
        for (const p of sub.packs) out.packs.add(p);
        for (const f of sub.fresh) out.fresh.add(f);
        if (sub.id !== n.subtree) {
          node.subtree = sub.id;
          changed = true;
        }
      }
      kept.push(node);
    }
    if (changed) {
      out.id = this.save(kept);
      const loc = this.repo.index.get("tree", out.id);
      if (loc === undefined) out.fresh.add(out.id);
      else out.packs.add(loc.packId);
    } else place("tree", id);
    return out;
  }
}
