import { CofferError } from "../core/errors.ts";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { Snapshot } from "../format/snapshot.ts";
import type { TreeNode } from "../format/tree.ts";
import type { VfsSource } from "./browse-tree.ts";

/** An in-memory {@link VfsSource} for tests: trees, blobs and snapshots set by hand. */
export class FakeSource implements VfsSource {
  readonly trees = new Map<string, TreeNode[]>();
  readonly blobs = new Map<string, Uint8Array>();
  readonly damaged = new Set<string>();
  snapshots: FoundSnapshot[] = [];
  blobLoads: string[] = [];
  listings = 0;

  async listSnapshots(): Promise<FoundSnapshot[]> {
    this.listings++;
    return Promise.resolve(this.snapshots.slice());
  }
  async loadTree(id: string): Promise<TreeNode[]> {
    const t = this.trees.get(id);
    if (t === undefined) throw new CofferError("CORRUPT", `tree ${id.slice(0, 8)} missing`);
    return Promise.resolve(t);
  }
  async loadBlob(id: string): Promise<Uint8Array> {
    this.blobLoads.push(id);
    if (this.damaged.has(id))
      throw new CofferError("CORRUPT", `Cannot read blob ${id.slice(0, 8)}: authentication failed`);
    const b = this.blobs.get(id);
    if (b === undefined) throw new CofferError("NOT_FOUND", `blob ${id.slice(0, 8)} missing`);
    return Promise.resolve(b);
  }
  blobSize(id: string): number | undefined {
    return this.blobs.get(id)?.length;
  }

  /** Adds a blob, returning its (fake, unique) ID. */
  blob(bytes: Uint8Array): string {
    const id = (this.blobs.size + 1).toString(16).padStart(64, "b");
    this.blobs.set(id, bytes);
    return id;
  }

  /** Adds a tree, returning its ID. */
  tree(nodes: TreeNode[]): string {
    const id = (this.trees.size + 1).toString(16).padStart(64, "t");
    this.trees.set(
      id,
      nodes.slice().sort((a, b) => Buffer.compare(a.name, b.name)),
    );
    return id;
  }

  /** Adds a snapshot of `tree` (times are RFC 3339). */
  snapshot(id: string, time: string, tree: string, host = "web", tags: string[] = []): void {
    const snapshot = { v: 1, time, host, tags, paths: ["/"], tree } as unknown as Snapshot;
    this.snapshots.push({ id, snapshot });
  }
}

/** A tree node with defaults. */
export function node(
  name: string | Buffer,
  o: Partial<TreeNode> & Pick<TreeNode, "type">,
): TreeNode {
  return {
    name: typeof name === "string" ? Buffer.from(name) : name,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    user: "u",
    group: "g",
    mtimeNs: 1_700_000_000_000_000_000n,
    atimeNs: 1_700_000_000_000_000_000n,
    ctimeNs: 1_700_000_000_000_000_000n,
    size: 0,
    inode: 1n,
    devId: 1n,
    links: 1,
    ...o,
  };
}
