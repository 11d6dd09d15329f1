import { once } from "node:events";
import { CofferError } from "../../core/errors.ts";
import type { BlobType } from "../../format/blob.ts";
import type { TreeNode } from "../../format/tree.ts";
import { TarWriter, type TarEntry } from "../../fsmeta/tar-writer.ts";
import { findSnapshot, type SnapshotSource } from "./find-snapshot.ts";
import { resolvePath, walkTree, type TreeLoader } from "../repository/index.ts";

/** What dump needs from a repository (a `Repository` satisfies it). */
export interface DumpSource extends SnapshotSource, TreeLoader {
  loadBlob(type: BlobType, id: string): Promise<Uint8Array>;
}

/** Options for {@link dump}. */
export interface DumpOptions {
  /** Blobs fetched ahead of the one being written (default 4). */
  readAhead?: number;
  /**
   * Refuse a directory (a tar archive) with this reason, before writing anything: the CLI
   * sets it when stdout is a terminal, as restic does.
   */
  refuseArchive?: string;
}

/**
 * Writes one path of a snapshot to `out`: a file's contents as they are, a directory (or `/`,
 * the whole snapshot) as a pax tar archive (via fsmeta's TarWriter) whose member names are
 * relative to that directory. Every blob is verified (`loadBlob`); on damage the output stops
 * and CORRUPT / NOT_FOUND is thrown, naming the file. `out` is not ended.
 * @throws CofferError SNAPSHOT_NOT_FOUND, AMBIGUOUS_ID, NOT_FOUND (no such path), CORRUPT.
 */
export async function dump(
  repo: DumpSource,
  snapshot: string,
  path: string | Uint8Array,
  out: NodeJS.WritableStream,
  o: DumpOptions = {},
): Promise<void> {
  const { snapshot: snap } = await findSnapshot(repo, snapshot);
  const target = await resolvePath(repo, snap.tree, path);
  const readAhead = o.readAhead ?? 4;
  if (target.node !== undefined && target.node.type !== "dir") {
    if (target.node.type !== "file") {
      throw new CofferError(
        "BAD_INPUT",
        `Cannot dump ${target.path}: it is a ${target.node.type}, not a file or directory`,
      );
    }
    for await (const chunk of fileContent(repo, target.node, target.path, readAhead)) {
      if (!out.write(chunk)) await once(out as NodeJS.EventEmitter, "drain");
    }
    return;
  }
  if (o.refuseArchive !== undefined)
    throw new CofferError(
      "BAD_INPUT",
      `Cannot dump ${target.path}: it is a directory (a tar archive): ${o.refuseArchive}`,
    );
  const tree = target.tree ?? snap.tree;
  const tar = new TarWriter(out);
  const base = target.pathBytes;
  const rel = (p: Buffer): Buffer => p.subarray(base.length === 1 ? 1 : base.length + 1);
  const links = new Map<string, Buffer>();
  for await (const e of walkTree(repo, tree, { base })) {
    const n = e.node;
    const entry: TarEntry = {
      path: rel(e.pathBytes),
      kind: n.type === "dev" ? "blockdev" : n.type,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      user: n.user,
      group: n.group,
      mtimeNs: n.mtimeNs,
      ...(n.xattrs ? { xattrs: n.xattrs } : {}),
      ...(n.rdev !== undefined ? { rdev: BigInt(n.rdev) } : {}),
      ...(n.linkTarget ? { linkTarget: n.linkTarget } : {}),
    };
    if (n.type === "file") {
      if (n.links > 1) {
        const key = `${n.devId}:${n.inode}`;
        const first = links.get(key);
        if (first !== undefined) {
          await tar.add({ ...entry, kind: "hardlink", linkTarget: first });
          continue;
        }
        links.set(key, entry.path);
      }
      await tar.add({ ...entry, size: contentSize(n) }, fileContent(repo, n, e.path, readAhead));
    } else {
      await tar.add(entry);
    }
  }
  await tar.finish();
}

function contentSize(n: TreeNode): number {
  return n.size;
}

/** A file's verified contents, blob by blob, with up to `ahead` blobs fetched in advance. */
export async function* fileContent(
  repo: DumpSource,
  node: TreeNode,
  path: string,
  ahead: number,
): AsyncGenerator<Uint8Array> {
  const ids = node.content ?? [];
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < Math.max(1, ahead) && next < ids.length) {
      const p = repo.loadBlob("data", ids[next++]!);
      p.catch(() => undefined); // handled when awaited in order
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    let chunk: Uint8Array;
    try {
      chunk = await pending.shift()!;
    } catch (err) {
      const e = err instanceof CofferError ? err : undefined;
      throw new CofferError(
        e?.code ?? "IO",
        `Cannot dump ${path}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    fill();
    yield chunk;
  }
}
