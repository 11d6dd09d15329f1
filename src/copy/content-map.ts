import { createHash } from "node:crypto";
import type { TreeNode } from "../format/tree.ts";

/**
 * Remembers how a source file's content (its list of source data blob IDs) was re-chunked
 * in the destination: same source bytes always give the same destination blobs, so a file
 * met again (in this snapshot, a later one, or a snapshot copied by an earlier run) is not
 * read again.
 */
export class ContentMap {
  readonly #map = new Map<string, string[]>();

  /** Key of a source content list. */
  static key(content: readonly string[]): string {
    return createHash("sha256").update(content.join(",")).digest("hex");
  }

  get(content: readonly string[]): string[] | undefined {
    return this.#map.get(ContentMap.key(content));
  }

  set(content: readonly string[], dest: string[]): void {
    this.#map.set(ContentMap.key(content), dest);
  }

  get size(): number {
    return this.#map.size;
  }
}

/** Loads trees by ID (the part of a repository {@link seedContentMap} needs). */
export interface TreeLoader {
  loadTree(id: string): Promise<TreeNode[]>;
}

/**
 * Fills `map` from a snapshot already copied: walks the source tree and the destination
 * tree side by side (they have the same names and shapes) and records, for each file
 * present in both with the same size, its source content → destination content.
 */
export async function seedContentMap(
  map: ContentMap,
  src: TreeLoader,
  srcTree: string,
  dst: TreeLoader,
  dstTree: string,
): Promise<void> {
  const [a, b] = await Promise.all([src.loadTree(srcTree), dst.loadTree(dstTree)]);
  const byName = new Map(b.map((n) => [n.name.toString("latin1"), n]));
  for (const n of a) {
    const d = byName.get(n.name.toString("latin1"));
    if (d === undefined || d.type !== n.type) continue;
    if (
      n.type === "file" &&
      n.content !== undefined &&
      d.content !== undefined &&
      n.size === d.size
    )
      map.set(n.content, d.content);
    else if (n.type === "dir" && n.subtree !== undefined && d.subtree !== undefined)
      await seedContentMap(map, src, n.subtree, dst, d.subtree);
  }
}
