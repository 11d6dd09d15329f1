import { randomBytes } from "node:crypto";
import {
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
} from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { CofferError } from "../core/errors.ts";
import type { FoundSnapshot } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import { type BuildStats, type Previous, buildTree } from "./build-tree.ts";

/** The mirror's bookkeeping directory inside the mirror root. */
export const MIRROR_DIR = ".coffer-mirror";

/** What `state.json` records: the generation every path's symlink points to. */
interface MirrorState {
  snapshot: string;
  tree: string;
  gen: number;
  paths: string[];
}

/** What one mirror run did. */
export interface MirrorReport extends BuildStats {
  snapshotId: string;
  snapshotTime: string;
  /** False: the mirror already showed this snapshot; nothing was written. */
  changed: boolean;
  gen: number;
  /** Where each snapshot path is mirrored (a symlink to the current generation). */
  links: string[];
}

async function readState(root: string): Promise<MirrorState | undefined> {
  try {
    return JSON.parse(await readFile(join(root, MIRROR_DIR, "state.json"), "utf8")) as MirrorState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CofferError(
      "CORRUPT",
      `Cannot read mirror state in ${root}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeState(root: string, s: MirrorState): Promise<void> {
  const dir = join(root, MIRROR_DIR);
  const tmp = join(dir, `state.json.${randomBytes(4).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(JSON.stringify(s) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, "state.json"));
  await fsyncDir(dir);
}

/** The generation a mirror link points to, if it is one of ours. */
async function linkedGen(link: string): Promise<number | undefined> {
  try {
    const m = /\.coffer-mirror\/gen-(\d+)\//.exec(await readlink(link));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Makes `root` show snapshot `snap`: each snapshot path P becomes `root/P`, a symlink into a
 * generation directory (`root/.coffer-mirror/gen-N/P`). A new generation is built beside
 * the current one, linking unchanged files from it and writing only what changed; then each
 * path's symlink is switched with one rename (atomic per tree), the state saved, and the old
 * generation removed. A crash at any point leaves every path showing a complete generation,
 * and the next run finishes the job. Refuses a path that exists and is not its symlink.
 */
export async function mirror(
  repo: Repository,
  snap: FoundSnapshot,
  root: string,
  signal?: AbortSignal,
): Promise<MirrorReport> {
  const meta = join(root, MIRROR_DIR);
  await mkdir(meta, { recursive: true, mode: 0o700 });
  const state = await readState(root);
  const links = snap.snapshot.paths.map((p) => join(root, p));
  for (const l of links) {
    const st = await lstat(l).catch(() => undefined);
    if (st !== undefined && (!st.isSymbolicLink() || (await linkedGen(l)) === undefined))
      throw new CofferError(
        "BAD_INPUT",
        `Cannot mirror into ${l}: it exists and is not a coffer mirror link; refusing to replace it`,
      );
  }
  // Generations neither the state nor a link names are leftovers of an interrupted run.
  const keep = new Set<number>();
  if (state !== undefined) keep.add(state.gen);
  for (const l of [...links, ...(state?.paths ?? []).map((p) => join(root, p))]) {
    const g = await linkedGen(l);
    if (g !== undefined) keep.add(g);
  }
  const gens = (await readdir(meta))
    .map((n) => /^gen-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  for (const g of gens)
    if (!keep.has(g)) await rm(join(meta, `gen-${String(g)}`), { recursive: true, force: true });
  const empty: BuildStats = {
    filesWritten: 0,
    filesCopied: 0,
    filesLinked: 0,
    bytesWritten: 0,
    dirs: 0,
    symlinks: 0,
    warnings: [],
  };
  const base = { snapshotId: snap.id, snapshotTime: snap.snapshot.time, links };
  if (
    state?.snapshot === snap.id &&
    (await Promise.all(links.map(linkedGen))).every((g) => g === state.gen)
  )
    return { ...empty, ...base, changed: false, gen: state.gen };

  const gen = Math.max(0, ...gens, ...keep) + 1;
  const genDir = join(meta, `gen-${String(gen)}`);
  await mkdir(genDir, { mode: 0o755 });
  const prev: Previous | undefined =
    state !== undefined
      ? { root: Buffer.from(join(meta, `gen-${String(state.gen)}`)), tree: state.tree }
      : undefined;
  const stats = { ...empty, warnings: [] as string[] };
  await buildTree(repo, snap.snapshot.tree, Buffer.from(genDir), prev, stats, signal);
  await fsyncDir(genDir);
  if (signal?.aborted === true)
    throw new CofferError("INTERRUPTED", "Mirror interrupted: the previous mirror is unchanged");
  for (const [i, l] of links.entries()) {
    const p = snap.snapshot.paths[i] ?? "";
    await mkdir(dirname(l), { recursive: true });
    const tmp = `${l}.coffer-switch`;
    await rm(tmp, { force: true });
    await symlink(relative(dirname(l), join(genDir, p)), tmp);
    await rename(tmp, l);
    await fsyncDir(dirname(l));
  }
  // Paths the previous snapshot had and this one has not: their links go.
  for (const p of state?.paths ?? [])
    if (!snap.snapshot.paths.includes(p)) await rm(join(root, p), { force: true });
  await writeState(root, {
    snapshot: snap.id,
    tree: snap.snapshot.tree,
    gen,
    paths: snap.snapshot.paths,
  });
  for (const g of keep)
    if (g !== gen) await rm(join(meta, `gen-${String(g)}`), { recursive: true, force: true });
  return { ...stats, ...base, changed: true, gen };
}
