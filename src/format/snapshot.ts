import type { Random } from "../core/deps.ts";
import { CofferError } from "../core/errors.ts";
import { objectId, shortId } from "./ids.ts";
import type { MasterKey } from "./master-key.ts";
import { seal, unseal } from "./seal.ts";
import { isRfc3339 } from "./time.ts";
import { Fields, parseJsonObject } from "./validate.ts";

/**
 * Backup statistics recorded in a snapshot and its manifest. All are non-negative
 * integers; unknown extra counters are preserved.
 */
export interface SnapshotStats {
  [counter: string]: number;
  /** Files in the snapshot. */
  files: number;
  /** Directories in the snapshot. */
  dirs: number;
  /** Sum of file sizes in the snapshot. */
  bytes: number;
  newFiles: number;
  changedFiles: number;
  unchangedFiles: number;
  /** Raw bytes of blobs this backup added. */
  addedBytes: number;
  /** Stored (packed) bytes this backup added. */
  storedBytes: number;
}

/** Stats counters every snapshot must carry. */
export const REQUIRED_STATS = [
  "files",
  "dirs",
  "bytes",
  "newFiles",
  "changedFiles",
  "unchangedFiles",
  "addedBytes",
  "storedBytes",
] as const;

/** A snapshot (format v1), stored sealed under `snapshots/<id>`; its ID is the object ID. */
export interface Snapshot {
  v: 1;
  /** RFC 3339 time with nanoseconds (see `formatTimeNs`). */
  time: string;
  host: string;
  paths: string[];
  tags: string[];
  /** Root tree blob ID. */
  tree: string;
  parent?: string;
  username: string;
  hostname: string;
  /** Program and version that wrote it, e.g. "coffer 0.1.0". */
  program: string;
  stats: SnapshotStats;
  /** Free-form string metadata (e.g. database dump details). */
  meta?: Record<string, string>;
}

/** Seals a snapshot; returns its object ID and bytes. */
export function encodeSnapshot(
  master: MasterKey,
  snap: Snapshot,
  random: Random,
): { id: string; bytes: Uint8Array } {
  const doc: Record<string, unknown> = {
    v: 1,
    time: snap.time,
    host: snap.host,
    paths: snap.paths,
    tags: snap.tags,
    tree: snap.tree,
  };
  if (snap.parent !== undefined) doc["parent"] = snap.parent;
  Object.assign(doc, {
    username: snap.username,
    hostname: snap.hostname,
    program: snap.program,
    stats: snap.stats,
  });
  if (snap.meta !== undefined) doc["meta"] = snap.meta;
  const bytes = seal(master.encKey, "snapshot", Buffer.from(JSON.stringify(doc), "utf8"), random);
  return { id: objectId(bytes), bytes };
}

/** Validates a stats object; `code` is CORRUPT or BAD_INPUT. */
export function readStats(f: Fields): SnapshotStats {
  const out: Record<string, number> = {};
  for (const k of Object.keys(f.obj)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(k))
      f.fail(k.slice(0, 64), "is not a valid counter name");
    out[k] = f.uint(k);
  }
  for (const k of REQUIRED_STATS) if (out[k] === undefined) f.fail(k, "is missing");
  return out as SnapshotStats;
}

/**
 * Opens and validates a snapshot object.
 * @throws CofferError CORRUPT `Cannot open snapshot 3fa1c2d4: ...`; UNSUPPORTED_VERSION.
 */
export function decodeSnapshot(
  master: MasterKey,
  bytes: Uint8Array,
  id = objectId(bytes),
): Snapshot {
  const what = `snapshot ${shortId(id)}`;
  let plain: Buffer;
  try {
    plain = unseal(master.encKey, "snapshot", bytes);
  } catch (err) {
    throw new CofferError("CORRUPT", `Cannot open ${what}: authentication failed`, { cause: err });
  }
  const f = new Fields(parseJsonObject(plain, what), what);
  const v = f.uint("v");
  if (v !== 1)
    throw new CofferError("UNSUPPORTED_VERSION", `Cannot open ${what}: unsupported version ${v}`);
  const time = f.string("time", 64);
  if (!isRfc3339(time)) f.fail("time", "must be an RFC 3339 timestamp");
  const snap: Snapshot = {
    v: 1,
    time,
    host: f.string("host"),
    paths: f.stringArray("paths", 1_000_000, 1 << 16),
    tags: f.stringArray("tags"),
    tree: f.id("tree"),
    username: f.string("username"),
    hostname: f.string("hostname"),
    program: f.string("program"),
    stats: readStats(f.object("stats")),
  };
  const parent = f.optId("parent");
  if (parent !== undefined) snap.parent = parent;
  if (f.has("meta")) {
    const m = f.object("meta");
    const meta: Record<string, string> = {};
    for (const k of Object.keys(m.obj))
      Object.defineProperty(meta, k, {
        value: m.string(k, 1 << 16),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    snap.meta = meta;
  }
  return snap;
}
