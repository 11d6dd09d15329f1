import { CofferError } from "../core/errors.ts";
import { objectId } from "./ids.ts";
import { readStats, type SnapshotStats } from "./snapshot.ts";
import { isRfc3339 } from "./time.ts";
import { Fields, isHexId, parseJsonObject } from "./validate.ts";

/**
 * A manifest (format v1), plaintext JSON under `manifests/<id>`, written last for each
 * snapshot. It lets the keyless gateway run retention and GC. It reveals host, tags, time,
 * stats and every referenced pack ID (so dedup relations between snapshots).
 */
export interface Manifest {
  v: 1;
  /** Snapshot object ID. */
  snapshot: string;
  host: string;
  tags: string[];
  /** Client-claimed RFC 3339 time. */
  time: string;
  stats: SnapshotStats;
  /** Every pack ID the snapshot's whole tree references, sorted, unique. */
  packs: string[];
}

/** Limits for {@link parseManifest}. */
export interface ManifestLimits {
  /** Largest manifest in bytes (default 256 MiB, about 3.8 M packs = 60 TiB). */
  maxBytes?: number;
  maxTags?: number;
}

const KEYS = ["v", "snapshot", "host", "tags", "time", "stats", "packs"];
const TEXT = /^[^\u0000-\u001f\u007f]*$/;

/**
 * Serialises a manifest (packs sorted and de-duplicated); returns its object ID and bytes.
 * @throws CofferError BAD_INPUT when the manifest would not pass {@link parseManifest}.
 */
export function encodeManifest(m: Manifest): { id: string; bytes: Uint8Array } {
  const packs = [...new Set(m.packs)].sort();
  const doc = {
    v: 1,
    snapshot: m.snapshot,
    host: m.host,
    tags: m.tags,
    time: m.time,
    stats: m.stats,
    packs,
  };
  const bytes = Buffer.from(JSON.stringify(doc), "utf8");
  parseManifest(bytes);
  return { id: objectId(bytes), bytes };
}

/**
 * Strictly parses an untrusted manifest (the gateway's input): exact key set, version 1,
 * valid IDs, sorted unique packs, bounded sizes, no control characters in host or tags.
 * @throws CofferError BAD_INPUT `Cannot read manifest: ...`; UNSUPPORTED_VERSION.
 */
export function parseManifest(bytes: Uint8Array, limits: ManifestLimits = {}): Manifest {
  const what = "manifest";
  const maxBytes = limits.maxBytes ?? 256 * 1024 * 1024;
  if (bytes.length > maxBytes) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot read manifest: ${bytes.length} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  const f = new Fields(parseJsonObject(bytes, what, "BAD_INPUT"), what, "BAD_INPUT");
  if (f.has("v") && f.obj["v"] !== 1) {
    throw new CofferError(
      "UNSUPPORTED_VERSION",
      `Cannot read manifest: unsupported version ${JSON.stringify(f.obj["v"])}`,
    );
  }
  f.uint("v");
  f.only(KEYS);
  const host = f.string("host", 256);
  if (!TEXT.test(host)) f.fail("host", "contains control characters");
  const tags = f.stringArray("tags", limits.maxTags ?? 256, 256);
  for (const t of tags) if (!TEXT.test(t)) f.fail("tags", "contain control characters");
  const time = f.string("time", 64);
  if (!isRfc3339(time)) f.fail("time", "must be an RFC 3339 timestamp");
  const packs = f.array("packs");
  let prev = "";
  for (const p of packs) {
    if (typeof p !== "string" || !isHexId(p))
      return f.fail("packs", "must hold 64-character hex IDs");
    if (p <= prev) f.fail("packs", "must be sorted and unique");
    prev = p;
  }
  return {
    v: 1,
    snapshot: f.id("snapshot"),
    host,
    tags,
    time,
    stats: readStats(f.object("stats")),
    packs: packs as string[],
  };
}
