import { CofferError } from "../../core/errors.ts";
import type { PackUsage } from "./accounting.ts";

/** How much unused space a prune tolerates (`--max-unused`). */
export type UnusedLimit =
  { kind: "percent"; value: number } | { kind: "bytes"; value: number } | { kind: "unlimited" };

/** restic's default: 5 %. */
export const DEFAULT_MAX_UNUSED: UnusedLimit = { kind: "percent", value: 5 };

/** A pack below this fraction of the configured pack size is "small" (`--repack-small`). */
export const SMALL_PACK_FRACTION = 0.8;

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * Parses a size: a number of bytes with an optional k/M/G/T suffix (binary, case-insensitive,
 * an optional trailing `B` or `iB`), e.g. `500M`, `2G`, `1024`.
 * @throws CofferError BAD_INPUT naming the option.
 */
export function parseSize(s: string, option = "--max-repack-size"): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(s.trim());
  if (m === null)
    throw new CofferError(
      "BAD_INPUT",
      `Invalid ${option} ${JSON.stringify(s)}: use bytes with an optional k/M/G/T suffix, e.g. 500M`,
    );
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

/**
 * Parses `--max-unused`: `unlimited`, a percentage `0%`..`100%` (`100%` is unlimited) or a
 * size accepted by {@link parseSize}.
 * @throws CofferError BAD_INPUT on anything else.
 */
export function parseMaxUnused(s: string): UnusedLimit {
  const t = s.trim();
  if (t.toLowerCase() === "unlimited") return { kind: "unlimited" };
  const p = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (p !== null) {
    const value = Number(p[1]);
    if (value > 100)
      throw new CofferError(
        "BAD_INPUT",
        `Invalid --max-unused ${JSON.stringify(s)}: a percentage must be at most 100%`,
      );
    return value === 100 ? { kind: "unlimited" } : { kind: "percent", value };
  }
  if (!/^\d/.test(t))
    throw new CofferError(
      "BAD_INPUT",
      `Invalid --max-unused ${JSON.stringify(s)}: use a percentage (5%), a size (2G) or unlimited`,
    );
  return { kind: "bytes", value: parseSize(t, "--max-unused") };
}

/**
 * The unused bytes tolerated next to `used` bytes: a percentage `p` means unused is at most
 * `p` of the total, i.e. `p/(1−p) × used` (restic's formula).
 */
export function maxUnusedBytes(limit: UnusedLimit, used: number): number {
  switch (limit.kind) {
    case "unlimited":
      return Number.POSITIVE_INFINITY;
    case "bytes":
      return limit.value;
    case "percent":
      return (limit.value / (100 - limit.value)) * used;
  }
}

/** Options of {@link selectPacks}. */
export interface SelectOptions {
  maxUnused: UnusedLimit;
  /** Cap on the stored size of the packs repacked. */
  maxRepackBytes?: number;
  repackSmall: boolean;
  /** The repository's target pack size (config `packSize`). */
  packSize: number;
}

/** What {@link selectPacks} decided. */
export interface PackSelection {
  /** Packs no used blob lives in (deleted whole). */
  remove: { id: string; size: number }[];
  /** Partly used (or small) packs whose used blobs are copied into new packs, then deleted. */
  repack: PackUsage[];
  /** Bytes of used blobs, and of everything else, before. */
  usedBytes: number;
  unusedBytes: number;
  /** Unused bytes left once the selection is carried out. */
  unusedAfter: number;
  /** Stored bytes of the repacked packs, and the used bytes copied out of them. */
  repackBytes: number;
  repackUsedBytes: number;
}

/**
 * Decides which packs a prune deletes and which it repacks (pure; restic's rules):
 * wholly unused packs (and unindexed ones) are deleted; partly used packs are repacked,
 * most unused first (by unused/size), until the unused bytes left are within `maxUnused`,
 * skipping any pack that would take the repacked size over `maxRepackBytes`. With
 * `repackSmall`, packs below 80 % of the pack size are repacked too when there are at least
 * two of them or when other packs are repacked anyway (one small pack alone would only be
 * copied into another small pack).
 */
export function selectPacks(
  packs: readonly PackUsage[],
  unindexed: readonly { id: string; size: number }[],
  o: SelectOptions,
): PackSelection {
  const remove = [...unindexed];
  let used = 0;
  let unused = unindexed.reduce((n, p) => n + p.size, 0);
  const partly: PackUsage[] = [];
  const small: PackUsage[] = [];
  const isSmall = (p: PackUsage): boolean => p.size < o.packSize * SMALL_PACK_FRACTION;
  for (const p of packs) {
    used += p.usedBytes;
    unused += p.unusedBytes;
    if (p.used.length === 0) remove.push({ id: p.id, size: p.size });
    else if (p.unusedBytes > 0) partly.push(p);
    else if (o.repackSmall && isSmall(p)) small.push(p);
  }
  // Deleting whole packs removes their unused bytes without any repacking.
  let after = 0;
  for (const p of packs) if (p.used.length > 0) after += p.unusedBytes;
  const limit = maxUnusedBytes(o.maxUnused, used);
  partly.sort((a, b) => {
    const d = b.unusedBytes * a.size - a.unusedBytes * b.size;
    return d !== 0 ? d : a.id < b.id ? -1 : 1;
  });
  const repack: PackUsage[] = [];
  let repackBytes = 0;
  const fits = (p: PackUsage): boolean =>
    o.maxRepackBytes === undefined || repackBytes + p.size <= o.maxRepackBytes;
  const take = (p: PackUsage): void => {
    repack.push(p);
    repackBytes += p.size;
    after -= p.unusedBytes;
  };
  const left: PackUsage[] = [];
  for (const p of partly) {
    if (after > limit && fits(p)) take(p);
    else left.push(p);
  }
  if (o.repackSmall) {
    const smallLeft = [...left.filter(isSmall), ...small].sort((a, b) => (a.id < b.id ? -1 : 1));
    if (smallLeft.length >= 2 || (repack.length > 0 && smallLeft.length > 0))
      for (const p of smallLeft) if (fits(p)) take(p);
  }
  return {
    remove: remove.sort((a, b) => (a.id < b.id ? -1 : 1)),
    repack,
    usedBytes: used,
    unusedBytes: unused,
    unusedAfter: after,
    repackBytes,
    repackUsedBytes: repack.reduce((n, p) => n + p.usedBytes, 0),
  };
}
