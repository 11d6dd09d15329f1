/**
 * Test fixtures for the read side (restore, check, ls, diff, dump): writes hand-described
 * trees into a repository with full control over chunking and pack boundaries, independent
 * of the backup pipeline. Test-only.
 */
import { encodeBlob } from "../../format/blob.ts";
import { encodeIndex, type IndexPack } from "../../format/index-file.ts";
import { encodeManifest } from "../../format/manifest.ts";
import { PackBuilder, packKey } from "../../format/pack.ts";
import { encodeSnapshot, type Snapshot } from "../../format/snapshot.ts";
import { encodeTree, type TreeNode } from "../../format/tree.ts";
import type { Repository } from "../repository/index.ts";

/** A node of a described tree. */
export type FxNode =
  | {
      type: "file";
      name: string | Buffer;
      data: Buffer;
      mode?: number;
      inode?: number;
      links?: number;
      mtimeNs?: bigint;
      xattrs?: { name: string; value: Buffer }[];
    }
  | { type: "dir"; name: string | Buffer; children: FxNode[]; mode?: number; mtimeNs?: bigint }
  | { type: "symlink"; name: string | Buffer; target: string };

/** Options for {@link writeFixture}. */
export interface FixtureOptions {
  /** Blob size for file contents (default 1000 bytes). */
  chunk?: number;
  /** Data blobs per pack (default 3). */
  blobsPerPack?: number;
  time?: string;
  host?: string;
  tags?: string[];
  paths?: string[];
}

/** What {@link writeFixture} wrote. */
export interface Fixture {
  snapshotId: string;
  snapshot: Snapshot;
  /** Data blob ID (hex) → pack ID. */
  blobPack: Map<string, string>;
  /** Every data pack ID, in writing order. */
  dataPacks: string[];
  treePacks: string[];
  indexId: string;
  /** Root tree ID. */
  tree: string;
}

let inodeCounter = 1000;

/** Writes the described tree as packs, one index, a snapshot and a manifest. */
export async function writeFixture(
  repo: Repository,
  root: FxNode[],
  o: FixtureOptions = {},
): Promise<Fixture> {
  const chunk = o.chunk ?? 1000;
  const perPack = o.blobsPerPack ?? 3;
  const known = new Set<string>();
  const blobPack = new Map<string, string>();
  const indexPacks: IndexPack[] = [];
  const dataPacks: string[] = [];
  const treePacks: string[] = [];
  let data = new PackBuilder("data");
  const tree = new PackBuilder("tree");
  const pending: string[] = [];

  const flush = async (b: PackBuilder): Promise<void> => {
    if (b.count === 0) return;
    const p = b.finish(repo.master, repo.random);
    await repo.storage.putIfAbsent(packKey(p.id), p.bytes);
    indexPacks.push({
      id: p.id,
      type: p.type,
      size: p.bytes.length,
      blobs: p.entries.map((e) => [e.id.toString("hex"), e.offset, e.length, e.rawLength, e.flags]),
    });
    if (p.type === "data") {
      dataPacks.push(p.id);
      for (const id of pending.splice(0)) blobPack.set(id, p.id);
    } else treePacks.push(p.id);
  };

  const addData = async (raw: Buffer): Promise<string> => {
    const blob = encodeBlob(repo.master, "data", raw, repo.random);
    const id = blob.id.toString("hex");
    if (known.has(id)) return id;
    const existing = repo.indexLoaded ? repo.locate("data", id) : undefined;
    if (existing !== undefined) {
      // dedup against earlier snapshots, as a backup does
      known.add(id);
      blobPack.set(id, existing.packId);
      return id;
    }
    known.add(id);
    data.add(blob);
    pending.push(id);
    if (data.count >= perPack) {
      await flush(data);
      data = new PackBuilder("data");
    }
    return id;
  };

  const base = {
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    user: "",
    group: "",
    atimeNs: 1_700_000_000_000_000_000n,
    ctimeNs: 1_700_000_000_000_000_000n,
    devId: 1n,
  };
  const writeDir = async (nodes: FxNode[]): Promise<string> => {
    const out: TreeNode[] = [];
    for (const n of nodes) {
      const name = typeof n.name === "string" ? Buffer.from(n.name) : n.name;
      if (n.type === "file") {
        const content: string[] = [];
        for (let i = 0; i < n.data.length; i += chunk)
          content.push(await addData(n.data.subarray(i, i + chunk)));
        out.push({
          ...base,
          name,
          type: "file",
          mode: n.mode ?? 0o644,
          mtimeNs: n.mtimeNs ?? 1_700_000_001_000_000_000n,
          size: n.data.length,
          inode: BigInt(n.inode ?? inodeCounter++),
          links: n.links ?? 1,
          content,
          ...(n.xattrs ? { xattrs: n.xattrs } : {}),
        });
      } else if (n.type === "dir") {
        const subtree = await writeDir(n.children);
        out.push({
          ...base,
          name,
          type: "dir",
          mode: n.mode ?? 0o755,
          mtimeNs: n.mtimeNs ?? 1_700_000_002_000_000_000n,
          size: 0,
          inode: BigInt(inodeCounter++),
          links: 1,
          subtree,
        });
      } else {
        out.push({
          ...base,
          name,
          type: "symlink",
          mode: 0o777,
          mtimeNs: 1_700_000_003_000_000_000n,
          size: 0,
          inode: BigInt(inodeCounter++),
          links: 1,
          linkTarget: Buffer.from(n.target),
        });
      }
    }
    const blob = encodeBlob(repo.master, "tree", encodeTree(out), repo.random);
    const id = blob.id.toString("hex");
    if (!known.has(`t${id}`)) {
      known.add(`t${id}`);
      tree.add(blob);
    }
    return id;
  };

  const rootTree = await writeDir(root);
  await flush(data);
  await flush(tree);
  const index = encodeIndex(repo.master, { v: 1, packs: indexPacks, supersedes: [] }, repo.random);
  await repo.storage.putIfAbsent(`index/${index.id}`, index.bytes);
  const snapshot: Snapshot = {
    v: 1,
    time: o.time ?? "2026-01-02T03:04:05.000000000Z",
    host: o.host ?? "testhost",
    paths: o.paths ?? ["/data"],
    tags: o.tags ?? [],
    tree: rootTree,
    username: "tester",
    hostname: "testhost",
    program: "coffer-test",
    stats: {
      files: 0,
      dirs: 0,
      bytes: 0,
      newFiles: 0,
      changedFiles: 0,
      unchangedFiles: 0,
      addedBytes: 0,
      storedBytes: 0,
    },
  };
  const snap = encodeSnapshot(repo.master, snapshot, repo.random);
  await repo.storage.putIfAbsent(`snapshots/${snap.id}`, snap.bytes);
  const manifest = encodeManifest({
    v: 1,
    snapshot: snap.id,
    host: snapshot.host,
    tags: snapshot.tags,
    time: snapshot.time,
    stats: snapshot.stats,
    packs: [...new Set(blobPack.values()), ...treePacks],
  });
  await repo.storage.putIfAbsent(`manifests/${manifest.id}`, manifest.bytes);
  await repo.loadIndex();
  return {
    snapshotId: snap.id,
    snapshot,
    blobPack,
    dataPacks,
    treePacks,
    indexId: index.id,
    tree: rootTree,
  };
}

/** Deterministic non-repeating bytes for fixture files. */
export function fxBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
