import { lstat, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ID } from "./cache-dir.ts";

/** One repository's cache directory, as `coffer cache` lists it. */
export interface CacheInfo {
  /** Repository ID (the directory name). */
  repoId: string;
  dir: string;
  /** Bytes of every file under it. */
  bytes: number;
  /** When a command last opened that repository with the cache (the directory's mtime). */
  lastUsedMs: number;
  /** Unused for longer than the maximum age. */
  old: boolean;
}

/** Default age (days) after which an unused repository cache is old, as in restic. */
export const DEFAULT_CACHE_MAX_AGE_DAYS = 30;

/**
 * Every repository cache under `base` (directories named like a repository ID; anything else
 * is left alone), sorted by ID. A missing base is an empty list.
 */
export async function listCaches(
  base: string,
  now: number,
  maxAgeDays = DEFAULT_CACHE_MAX_AGE_DAYS,
): Promise<CacheInfo[]> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return [];
    throw err;
  }
  const out: CacheInfo[] = [];
  for (const name of names.sort()) {
    if (!REPO_ID.test(name)) continue;
    const dir = join(base, name);
    const s = await lstat(dir);
    if (!s.isDirectory()) continue;
    out.push({
      repoId: name,
      dir,
      bytes: await treeBytes(dir),
      lastUsedMs: s.mtimeMs,
      old: now - s.mtimeMs > maxAgeDays * 86_400_000,
    });
  }
  return out;
}

/** Removes the caches `listCaches` marked old; returns them. */
export async function removeOldCaches(
  base: string,
  now: number,
  maxAgeDays = DEFAULT_CACHE_MAX_AGE_DAYS,
): Promise<CacheInfo[]> {
  const old = (await listCaches(base, now, maxAgeDays)).filter((c) => c.old);
  for (const c of old) await rm(c.dir, { recursive: true, force: true });
  return old;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(p);
    else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
