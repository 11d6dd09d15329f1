import { open, readlink, lstat } from "node:fs/promises";
import { blobId } from "../format/ids.ts";
import type { TreeNode } from "../format/tree.ts";
import { restoredTimeNs } from "../fsmeta/apply-metadata.ts";
import { type Repository, walkTree } from "../engine/repository/index.ts";

/** One mismatch between a restored entry and its snapshot node. */
export interface DrillFailure {
  path: string;
  problem: string;
}

/** What {@link verifyRestored} found. */
export interface VerifyReport {
  files: number;
  dirs: number;
  symlinks: number;
  other: number;
  /** Bytes of file content read back and matched against the snapshot's blob IDs. */
  bytes: number;
  failures: DrillFailure[];
}

/** Read size for hashing restored files. */
const READ = 4 * 1024 * 1024;

/**
 * Checks a restored snapshot against the snapshot itself, independently of the restore: every
 * entry exists with its type; a file's bytes, cut at its blobs' lengths, hash (under the
 * repository's MAC key) to the blob IDs the snapshot lists, with nothing after them; modes,
 * modification times, symlink targets and (as root) owners are the snapshot's. Never throws
 * for a mismatch: each one is a failure naming the path.
 */
export async function verifyRestored(
  repo: Repository,
  tree: string,
  target: string,
  o: { asRoot?: boolean; signal?: AbortSignal } = {},
): Promise<VerifyReport> {
  const r: VerifyReport = { files: 0, dirs: 0, symlinks: 0, other: 0, bytes: 0, failures: [] };
  const fail = (path: string, problem: string): void => {
    r.failures.push({ path, problem });
  };
  for await (const e of walkTree(repo, tree, {
    onTreeError: (entry, err) => {
      fail(
        entry.path,
        `cannot read its listing: ${err instanceof Error ? err.message : String(err)}`,
      );
    },
  })) {
    if (o.signal?.aborted === true) break;
    const n = e.node;
    const path = Buffer.concat([Buffer.from(target), e.pathBytes]);
    let st;
    try {
      st = await lstat(path, { bigint: true });
    } catch (err) {
      fail(e.path, `missing (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      continue;
    }
    const kind = st.isFile()
      ? "file"
      : st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
          ? "symlink"
          : st.isBlockDevice()
            ? "dev"
            : st.isCharacterDevice()
              ? "chardev"
              : "other";
    if (kind !== n.type) {
      fail(e.path, `is a ${kind}, the snapshot has a ${n.type}`);
      continue;
    }
    if (n.type === "file") {
      r.files++;
      const problem = await verifyContent(repo, path, n, r);
      if (problem !== undefined) fail(e.path, problem);
    } else if (n.type === "dir") r.dirs++;
    else if (n.type === "symlink") {
      r.symlinks++;
      const link = await readlink(path, { encoding: "buffer" });
      if (n.linkTarget !== undefined && !link.equals(n.linkTarget))
        fail(e.path, "symlink target differs");
      continue; // symlink modes and times are not restored on Linux
    } else r.other++;
    const mode = Number(st.mode) & 0o7777;
    if (mode !== (n.mode & 0o7777))
      fail(e.path, `mode ${mode.toString(8)}, the snapshot has ${(n.mode & 0o7777).toString(8)}`);
    if (n.type !== "dir" && st.mtimeNs !== restoredTimeNs(n.mtimeNs))
      fail(e.path, "modification time differs");
    if (o.asRoot === true && (Number(st.uid) !== n.uid || Number(st.gid) !== n.gid))
      fail(
        e.path,
        `owner ${String(st.uid)}:${String(st.gid)}, the snapshot has ${String(n.uid)}:${String(n.gid)}`,
      );
  }
  // Directory times change while their children are written; check them after the walk.
  for await (const e of walkTree(repo, tree)) {
    if (e.node.type !== "dir") continue;
    try {
      const st = await lstat(Buffer.concat([Buffer.from(target), e.pathBytes]), { bigint: true });
      if (st.mtimeNs !== restoredTimeNs(e.node.mtimeNs)) fail(e.path, "modification time differs");
    } catch {
      // already reported as missing
    }
  }
  return r;
}

async function verifyContent(
  repo: Repository,
  path: Buffer,
  n: TreeNode,
  r: VerifyReport,
): Promise<string | undefined> {
  const fh = await open(path, "r");
  try {
    let pos = 0;
    let buf = Buffer.allocUnsafe(READ);
    for (const id of n.content ?? []) {
      const len = repo.locate("data", id)?.rawLength;
      if (len === undefined) return `data blob ${id.slice(0, 8)} is in no index`;
      if (buf.length < len) buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead !== len)
        return `content ends at byte ${String(pos + bytesRead)}, the snapshot has ${String(n.size)}`;
      if (!blobId(repo.master.macKey, buf.subarray(0, len)).equals(Buffer.from(id, "hex")))
        return `content differs from the snapshot at bytes ${String(pos)}-${String(pos + len - 1)}`;
      pos += len;
      r.bytes += len;
    }
    const extra = await fh.read(Buffer.alloc(1), 0, 1, pos);
    if (extra.bytesRead !== 0 || pos !== n.size)
      return `size differs: the snapshot has ${String(n.size)} bytes`;
    return undefined;
  } finally {
    await fh.close();
  }
}
