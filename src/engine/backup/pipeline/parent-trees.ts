import { decodeBlob } from "../../../format/blob.ts";
import { type TreeNode, decodeTree } from "../../../format/tree.ts";
import type { Repository } from "../../repository/index.ts";

/** A parent directory's children by name (`latin1` of the raw name bytes). */
export type Lookup = Map<string, TreeNode> | undefined;

/** Tree packs at most this big are read whole, once, instead of one range read per tree. */
const WHOLE_PACK_MAX = 4 * 1024 * 1024;
/** Whole tree packs kept in memory at once. */
const PACKS_KEPT = 2;

/** The key of a raw name in a {@link Lookup}. */
export const nameKey = (name: Buffer): string => name.toString("latin1");

/**
 * The parent snapshot's trees, as the walk needs them: each directory's listing is
 * requested once, its subdirectories' listings are fetched ahead (the walk enters them
 * next), and small tree packs are read whole, so an unchanged re-run costs one read per
 * tree pack instead of one per directory. A tree that cannot be read is `undefined` (a
 * damaged parent only costs re-reading the files).
 */
export class ParentTrees {
  readonly #pending = new Map<string, Promise<Lookup>>();
  readonly #packs = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(private readonly repo: Repository) {}

  /**
   * The listing of tree `id`, handed out once (a second call loads it again). Starts
   * fetching its subdirectories' listings, one level ahead of the walk.
   */
  async take(id: string): Promise<Lookup> {
    let p = this.#pending.get(id);
    if (p !== undefined) this.#pending.delete(id);
    else p = this.#load(id);
    const lookup = await p;
    for (const n of lookup?.values() ?? []) {
      if (n.type === "dir" && n.subtree !== undefined && !this.#pending.has(n.subtree))
        this.#pending.set(n.subtree, this.#load(n.subtree));
    }
    return lookup;
  }

  async #load(id: string): Promise<Lookup> {
    try {
      return new Map((await this.#tree(id)).map((n) => [nameKey(n.name), n]));
    } catch {
      return undefined;
    }
  }

  async #tree(id: string): Promise<TreeNode[]> {
    const loc = this.repo.index.get("tree", id);
    const size = loc === undefined ? undefined : this.repo.packs.get(loc.packId)?.size;
    if (loc === undefined || size === undefined || size > WHOLE_PACK_MAX)
      return this.repo.loadTree(id);
    const pack = await this.#pack(loc.packId);
    if (pack === undefined || loc.offset + loc.length > pack.length) return this.repo.loadTree(id);
    let raw: Uint8Array;
    try {
      raw = decodeBlob(
        this.repo.master,
        "tree",
        pack.subarray(loc.offset, loc.offset + loc.length),
        loc.flags,
        id,
        loc.rawLength,
      );
    } catch {
      // A damaged cached pack: loadTree drops it and reads the blob again.
      return this.repo.loadTree(id);
    }
    return decodeTree(raw, id);
  }

  #pack(packId: string): Promise<Uint8Array | undefined> {
    let p = this.#packs.get(packId);
    if (p === undefined) {
      p = this.repo.readTreePack(packId).catch(() => undefined);
      this.#packs.set(packId, p);
      for (const k of this.#packs.keys()) {
        if (this.#packs.size <= PACKS_KEPT) break;
        this.#packs.delete(k);
      }
    }
    return p;
  }
}
