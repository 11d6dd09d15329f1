import { copyFile, link, lstat, mkdir, open, symlink } from "node:fs/promises";
import { fileContent } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import type { TreeNode } from "../format/tree.ts";
import { applyMetadata, restoredTimeNs } from "../fsmeta/apply-metadata.ts";

/** What building one generation did. */
export interface BuildStats {
  /** Files written from the repository (new or changed content). */
  filesWritten: number;
  /** Files whose content was unchanged but metadata differed: copied locally. */
  filesCopied: number;
  /** Files unchanged: hard-linked from the previous generation (nothing written). */
  filesLinked: number;
  /** Bytes written to disk (from the repository and local copies). */
  bytesWritten: number;
  dirs: number;
  symlinks: number;
  /** Entries that could not be mirrored (devices without privileges...). */
  warnings: string[];
}

/** The previous generation: where it is and the tree it was built from. */
export interface Previous {
  root: Buffer;
  tree: string;
}

function sameContent(a: TreeNode, b: TreeNode): boolean {
  const x = a.content ?? [];
  const y = b.content ?? [];
  return a.size === b.size && x.length === y.length && x.every((id, i) => id === y[i]);
}

function sameMeta(a: TreeNode, b: TreeNode): boolean {
  const xa = JSON.stringify((a.xattrs ?? []).map((x) => [x.name, x.value.toString("base64")]));
  const xb = JSON.stringify((b.xattrs ?? []).map((x) => [x.name, x.value.toString("base64")]));
  return (
    (a.mode & 0o7777) === (b.mode & 0o7777) &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.mtimeNs === b.mtimeNs &&
    xa === xb
  );
}

/**
 * Builds the snapshot tree `tree` under `dest` (a fresh directory). A file whose content and
 * metadata equal the previous generation's, and whose previous copy is still as it was built
 * (size and mtime), is hard-linked from it: nothing is written. Same content with other
 * metadata is copied locally; anything else is written from the repository (each blob
 * authenticated) and fsynced. Files are never modified in place, so the previous generation
 * stays intact whatever happens.
 */
export async function buildTree(
  repo: Repository,
  tree: string,
  dest: Buffer,
  prev: Previous | undefined,
  stats: BuildStats,
  signal?: AbortSignal,
): Promise<void> {
  const nodes = await repo.loadTree(tree);
  const old = new Map<string, TreeNode>();
  if (prev !== undefined)
    for (const n of await repo.loadTree(prev.tree).catch(() => []))
      old.set(n.name.toString("latin1"), n);
  const asRoot = process.getuid?.() === 0;
  const dirsToFinish: { path: Buffer; node: TreeNode }[] = [];
  for (const n of nodes) {
    if (signal?.aborted === true) throw signal.reason;
    const path = Buffer.concat([dest, Buffer.from("/"), n.name]);
    const o = old.get(n.name.toString("latin1"));
    const oldPath =
      prev !== undefined ? Buffer.concat([prev.root, Buffer.from("/"), n.name]) : undefined;
    const meta = {
      kind: n.type === "dev" ? ("blockdev" as const) : n.type,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      mtimeNs: n.mtimeNs,
      atimeNs: n.atimeNs,
      ...(n.xattrs !== undefined ? { xattrs: n.xattrs } : {}),
    };
    const onWarning = (w: { message: string }): void => {
      stats.warnings.push(w.message);
    };
    if (n.type === "dir") {
      await mkdir(path);
      stats.dirs++;
      await buildTree(
        repo,
        n.subtree ?? "",
        path,
        o?.type === "dir" && o.subtree !== undefined && oldPath !== undefined
          ? { root: oldPath, tree: o.subtree }
          : undefined,
        stats,
        signal,
      );
      dirsToFinish.push({ path, node: n });
    } else if (n.type === "file") {
      const intact =
        o?.type === "file" && oldPath !== undefined && sameContent(o, n)
          ? await lstat(oldPath, { bigint: true })
              .then(
                (st) =>
                  st.isFile() &&
                  Number(st.size) === o.size &&
                  st.mtimeNs === restoredTimeNs(o.mtimeNs),
              )
              .catch(() => false)
          : false;
      if (intact && o !== undefined && oldPath !== undefined && sameMeta(o, n)) {
        await link(oldPath, path);
        stats.filesLinked++;
        continue;
      }
      if (intact && oldPath !== undefined) {
        await copyFile(oldPath, path);
        stats.filesCopied++;
        stats.bytesWritten += n.size;
      } else {
        await writeFromRepo(repo, n, path, stats);
        stats.filesWritten++;
      }
      await applyMetadata(path, meta, { owners: asRoot, onWarning });
    } else if (n.type === "symlink") {
      await symlink(n.linkTarget ?? Buffer.alloc(0), path);
      stats.symlinks++;
      await applyMetadata(path, { ...meta, kind: "symlink" }, { owners: asRoot, onWarning });
    } else {
      stats.warnings.push(`${path.toString()}: ${n.type} not mirrored`);
    }
  }
  // Directory metadata last (children change a directory's mtime).
  for (const d of dirsToFinish)
    await applyMetadata(
      d.path,
      {
        kind: "dir",
        mode: d.node.mode,
        uid: d.node.uid,
        gid: d.node.gid,
        mtimeNs: d.node.mtimeNs,
        atimeNs: d.node.atimeNs,
        ...(d.node.xattrs !== undefined ? { xattrs: d.node.xattrs } : {}),
      },
      { owners: asRoot, onWarning: (w) => stats.warnings.push(w.message) },
    );
}

async function writeFromRepo(
  repo: Repository,
  n: TreeNode,
  path: Buffer,
  stats: BuildStats,
): Promise<void> {
  const fh = await open(path, "wx", 0o600);
  try {
    for await (const chunk of fileContent(repo, n, path.toString(), 4)) {
      await fh.write(chunk);
      stats.bytesWritten += chunk.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}
