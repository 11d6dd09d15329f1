/** How bad a finding is: errors mean damage, warnings oddities, info normal leftovers. */
export type CheckSeverity = "error" | "warning" | "info";

/** One finding of `check`. */
export interface CheckProblem {
  severity: CheckSeverity;
  /** What it is about: `config`, `key 3fa1c2d4`, `index …`, `pack …`, `snapshot …`, `manifest …`. */
  object: string;
  /** One line. */
  message: string;
}

/** A file or directory (path inside the snapshot) that cannot be restored correctly. */
export interface AffectedPath {
  path: string;
  /** Why: the damaged blobs or trees, one line. */
  reason: string;
  /** Damaged packs involved (empty when the cause is a blob missing from every index). */
  packs: string[];
}

/** A snapshot that damage reaches, with exactly the paths affected. */
export interface AffectedSnapshot {
  id: string;
  /** Set when the snapshot object itself cannot be read (then `paths` is empty). */
  unreadable?: string;
  paths: AffectedPath[];
}

/** A pack that is missing, the wrong size, or has a damaged header or blobs. */
export interface DamagedPack {
  id: string;
  problem: string;
  /** Blob IDs (hex) in it that are lost (all of them for a missing pack). */
  blobs: string[];
  /** Snapshots whose files use those blobs. */
  snapshots: string[];
  /** Affected files, as `{ snapshot, path }`. */
  files: { snapshot: string; path: string }[];
}

/** Counters of what `check` looked at. */
export interface CheckStats {
  indexes: number;
  packs: number;
  snapshots: number;
  trees: number;
  dataBlobs: number;
  /** Packs downloaded and verified (with readData). */
  packsRead: number;
  bytesRead: number;
}

/** A command that repairs part of the damage found (see `repairAdvice`). */
export interface RepairStep {
  /** e.g. `coffer repair index`. */
  command: string;
  /** One line: what it fixes. */
  why: string;
}

/**
 * Result of `check`: data, never an exception for damage. `ok` is true when there are no
 * errors (warnings and info do not count).
 */
export interface CheckReport {
  ok: boolean;
  problems: CheckProblem[];
  damagedPacks: DamagedPack[];
  /** Snapshots that damage reaches, with the exact affected paths, oldest ID order. */
  affected: AffectedSnapshot[];
  /** Packs in storage that no index references (normal after an interrupted backup). */
  unreferencedPacks: string[];
  /** The repair commands to run, in order (empty when there is nothing to repair). */
  repairs: RepairStep[];
  stats: CheckStats;
}
