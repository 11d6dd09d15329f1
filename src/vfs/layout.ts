import { isSafeName } from "../format/tree.ts";
import { timeNs, type FoundSnapshot } from "../engine/browse/index.ts";

/** One snapshot as it appears in the browse tree. */
export interface LayoutSnapshot {
  id: string;
  /** Its directory name under `snapshots/` (local time, made unique). */
  name: string;
  /** Its alias name under `ids/` (the shortest unique ID prefix, at least 8 characters). */
  alias: string;
  found: FoundSnapshot;
  timeNs: bigint;
}

/**
 * The virtual top of the browse tree, computed from the snapshot list alone:
 * `snapshots/<local time>/`, `ids/<id>` → `../snapshots/<time>`, `latest` →
 * `snapshots/<time>`, `hosts/<host>/latest` and `tags/<tag>/latest`.
 */
export interface Layout {
  /** Oldest first. */
  snapshots: LayoutSnapshot[];
  byName: Map<string, LayoutSnapshot>;
  byAlias: Map<string, LayoutSnapshot>;
  latest: LayoutSnapshot | undefined;
  /** Newest snapshot per host (hosts whose name cannot be a file name are left out). */
  hosts: Map<string, LayoutSnapshot>;
  /** Newest snapshot per tag. */
  tags: Map<string, LayoutSnapshot>;
}

/** Formats a snapshot time (ns since the epoch) as a directory name. */
export type TimeFormatter = (ns: bigint) => string;

/** `2026-12-04T18:12:51+01:00`-style names in the time zone `offsetMinutes(ms)` gives. */
export function localTimeFormatter(offsetMinutes: (ms: number) => number): TimeFormatter {
  return (ns) => {
    const ms = Number(ns / 1_000_000n);
    const off = offsetMinutes(ms);
    const d = new Date(ms + off * 60_000);
    const p = (n: number, w = 2): string => String(n).padStart(w, "0");
    const sign = off < 0 ? "-" : "+";
    const a = Math.abs(off);
    const zone = off === 0 ? "Z" : `${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`;
    return (
      `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}` +
      `T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${zone}`
    );
  };
}

function safe(name: string): boolean {
  return isSafeName(Buffer.from(name, "utf8"));
}

/**
 * Builds the layout from snapshots sorted oldest first. Two snapshots of the same second get
 * `-1`, `-2`, … suffixes (in ID order, so names are stable across refreshes).
 */
export function buildLayout(found: readonly FoundSnapshot[], format: TimeFormatter): Layout {
  const snapshots: LayoutSnapshot[] = [];
  const byName = new Map<string, LayoutSnapshot>();
  const byAlias = new Map<string, LayoutSnapshot>();
  const aliasLen = aliasLength(found.map((f) => f.id));
  for (const f of found) {
    const t = timeNs(f.snapshot.time);
    const base = format(t);
    let name = base;
    for (let i = 1; byName.has(name); i++) name = `${base}-${String(i)}`;
    const s: LayoutSnapshot = {
      id: f.id,
      name,
      alias: f.id.slice(0, aliasLen),
      found: f,
      timeNs: t,
    };
    snapshots.push(s);
    byName.set(name, s);
    byAlias.set(s.alias, s);
  }
  const hosts = new Map<string, LayoutSnapshot>();
  const tags = new Map<string, LayoutSnapshot>();
  for (const s of snapshots) {
    if (safe(s.found.snapshot.host)) hosts.set(s.found.snapshot.host, s);
    for (const t of s.found.snapshot.tags) if (safe(t)) tags.set(t, s);
  }
  return { snapshots, byName, byAlias, latest: snapshots.at(-1), hosts, tags };
}

/** The shortest prefix length (at least 8) that tells every ID apart. */
function aliasLength(ids: readonly string[]): number {
  const sorted = [...new Set(ids)].sort();
  let len = 8;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    let k = 0;
    while (k < a.length && a[k] === b[k]) k++;
    len = Math.max(len, k + 1);
  }
  return len;
}
