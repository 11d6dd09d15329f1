import { createHash } from "node:crypto";
import { decodeBlob, type BlobType } from "../../format/blob.ts";
import { decodeConfig } from "../../format/config.ts";
import type { IndexBlob } from "../../format/index-file.ts";
import { objectId, shortId } from "../../format/ids.ts";
import { readKeyFileInfo } from "../../format/keys.ts";
import type { MasterKey } from "../../format/master-key.ts";
import { PACK_TAIL_READ, packKey, readPackHeader, type PackEntry } from "../../format/pack.ts";
import type { Storage } from "../../storage/storage.ts";
import type { CheckProblem } from "./report.ts";
import { gonePacks } from "../repository/index.ts";
import { collect, mapLimit } from "../../core/parallel.ts";

/** A blob as every index names it. */
export interface CheckedBlob {
  type: BlobType;
  packId: string;
  offset: number;
  length: number;
  rawLength: number;
  flags: number;
}

/** A pack as the indexes describe it. */
export interface IndexedPack {
  id: string;
  type: BlobType;
  size: number;
  blobs: IndexBlob[];
}

/** Shared state of one check run. */
export interface CheckState {
  storage: Storage;
  master: MasterKey;
  problems: CheckProblem[];
  /** `type:id` → location. */
  blobs: Map<string, CheckedBlob>;
  packs: Map<string, IndexedPack>;
  /** `type:id` → further packs holding a copy (duplicates from concurrent backups). */
  copies: Map<string, string[]>;
  /** Pack ID → why it is damaged. */
  damaged: Map<string, string>;
  /** Blob copies known to be unreadable, as `type:id@packId`. */
  badBlobs: Set<string>;
  /** Indexed packs the gateway destroyed on purpose (GC): fine unless a snapshot needs them. */
  gone?: Set<string>;
  stats: { indexes: number; packsRead: number; bytesRead: number };
}

const CONCURRENCY = 4;

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Checks config and key files (structure only: opening a key needs its password). */
export async function checkConfigAndKeys(s: CheckState): Promise<void> {
  try {
    decodeConfig(await s.storage.get("config"), s.master);
  } catch (err) {
    s.problems.push({ severity: "error", object: "config", message: msg(err) });
  }
  const keys = await collect(s.storage.list("keys/"));
  if (keys.length === 0)
    s.problems.push({ severity: "error", object: "keys", message: "no key files" });
  for (const k of keys) {
    const id = k.key.slice("keys/".length);
    try {
      const bytes = await s.storage.get(k.key);
      if (objectId(bytes) !== id)
        throw new Error(`Cannot read key file ${shortId(id)}: content does not match its name`);
      readKeyFileInfo(bytes);
    } catch (err) {
      s.problems.push({ severity: "error", object: `key ${shortId(id)}`, message: msg(err) });
    }
  }
}

/**
 * Lists `data/` and compares it with the indexes: a missing pack or one of the wrong size is
 * damaged; a pack no index names is reported as info. Returns the unreferenced pack IDs.
 */
export async function checkPackList(s: CheckState): Promise<string[]> {
  const stored = new Map<string, number>();
  for (const o of await collect(s.storage.list("data/"))) {
    const id = o.key.slice(o.key.lastIndexOf("/") + 1);
    if (o.key !== packKey(id)) {
      s.problems.push({
        severity: "warning",
        object: o.key,
        message: `unexpected object ${o.key} under data/`,
      });
      continue;
    }
    stored.set(id, o.size);
  }
  const gone = await gonePacks(s.storage);
  for (const p of s.packs.values()) {
    const size = stored.get(p.id);
    if (size === undefined && gone.has(p.id)) {
      // Destroyed by the gateway's GC; an index still describes it until the gateway collects
      // that index. Its blobs are unreadable: a snapshot needing one is an error (check.ts).
      (s.gone ??= new Set()).add(p.id);
      for (const [bid] of p.blobs) s.badBlobs.add(`${p.type}:${bid}@${p.id}`);
      s.problems.push({
        severity: "info",
        object: `pack ${shortId(p.id)}`,
        message: `pack ${shortId(p.id)} was destroyed by the gateway's garbage collection (still described by an index)`,
      });
    } else if (size === undefined) markDamaged(s, p.id, "pack is missing");
    else if (size !== p.size)
      markDamaged(s, p.id, `pack has ${size} bytes, the index says ${p.size}`);
  }
  const unreferenced = [...stored.keys()].filter((id) => !s.packs.has(id)).sort();
  for (const id of unreferenced) {
    s.problems.push({
      severity: "info",
      object: `pack ${shortId(id)}`,
      message: `pack ${shortId(id)} is not referenced by any index (left by an interrupted backup; prune removes it)`,
    });
  }
  return unreferenced;
}

/** Every pack holding a copy of blob `key` (`type:id`), the indexed location first. */
export function copiesOf(s: CheckState, key: string): string[] {
  const loc = s.blobs.get(key);
  return loc === undefined ? [] : [loc.packId, ...(s.copies.get(key) ?? [])];
}

/**
 * The packs whose damage makes blob `key` unreadable, when no intact copy is left;
 * undefined when some copy is intact (or the blob is not indexed at all).
 */
export function lostIn(s: CheckState, key: string): string[] | undefined {
  const packs = copiesOf(s, key);
  if (packs.length === 0 || !packs.every((p) => s.badBlobs.has(`${key}@${p}`))) return undefined;
  return packs;
}

/** Records a damaged pack as an error; every blob in it becomes unreadable. */
export function markDamaged(s: CheckState, packId: string, why: string): void {
  if (s.damaged.has(packId)) return;
  s.damaged.set(packId, why);
  s.problems.push({
    severity: "error",
    object: `pack ${shortId(packId)}`,
    message: `Cannot use pack ${shortId(packId)}: ${why}`,
  });
  const p = s.packs.get(packId);
  for (const [bid] of p?.blobs ?? []) s.badBlobs.add(`${p!.type}:${bid}@${packId}`);
}

function compareHeader(s: CheckState, p: IndexedPack, entries: PackEntry[]): string | undefined {
  const fromHeader = new Map(entries.map((e) => [`${e.id.toString("hex")}@${e.offset}`, e]));
  for (const [bid, offset, length, rawLength, flags] of p.blobs) {
    const e = fromHeader.get(`${bid}@${offset}`);
    if (e === undefined) return `header does not list blob ${shortId(bid)} at offset ${offset}`;
    if (
      e.type !== p.type ||
      e.length !== length ||
      e.rawLength !== rawLength ||
      e.flags !== flags
    ) {
      return `header and index disagree about blob ${shortId(bid)}`;
    }
  }
  return undefined;
}

/** Reads each indexed, present pack's header and compares it with the index entries. */
export async function checkPackHeaders(s: CheckState, skip: ReadonlySet<string>): Promise<void> {
  const packs = [...s.packs.values()].filter((p) => !s.damaged.has(p.id) && !skip.has(p.id));
  await mapLimit(packs, CONCURRENCY, async (p) => {
    try {
      let tail = await s.storage.get(packKey(p.id), {
        offset: Math.max(0, p.size - PACK_TAIL_READ),
        length: PACK_TAIL_READ,
      });
      let h = readPackHeader(s.master, tail, p.size, p.id);
      if ("need" in h) {
        tail = await s.storage.get(packKey(p.id), {
          offset: Math.max(0, p.size - h.need),
          length: h.need,
        });
        h = readPackHeader(s.master, tail, p.size, p.id);
      }
      if ("need" in h) throw new Error("header cannot be read");
      const why = compareHeader(s, p, h.entries);
      if (why !== undefined) markDamaged(s, p.id, why);
    } catch (err) {
      markDamaged(s, p.id, msg(err));
    }
  });
}

/**
 * Downloads each pack of `ids`, checks SHA-256 = its name, its header against the index, and
 * decrypts and authenticates every blob. A pack whose checksum fails but whose blobs all
 * verify is still damaged (bytes outside blobs); individual bad blobs are recorded so that
 * exactly the files using them are named.
 */
export async function readPacks(s: CheckState, ids: readonly string[]): Promise<void> {
  await mapLimit([...ids], 2, async (id) => {
    const p = s.packs.get(id);
    if (p === undefined || s.damaged.has(id)) return;
    let bytes: Uint8Array;
    try {
      bytes = await s.storage.get(packKey(id));
    } catch (err) {
      markDamaged(s, id, msg(err));
      return;
    }
    s.stats.packsRead++;
    s.stats.bytesRead += bytes.length;
    const sumOk = createHash("sha256").update(bytes).digest("hex") === id;
    const bad: string[] = [];
    for (const [bid, offset, length, rawLength, flags] of p.blobs) {
      try {
        if (offset + length > bytes.length) throw new Error("truncated");
        decodeBlob(
          s.master,
          p.type,
          bytes.subarray(offset, offset + length),
          flags,
          bid,
          rawLength,
        );
      } catch {
        bad.push(bid);
      }
    }
    let headerProblem: string | undefined;
    try {
      const h = readPackHeader(s.master, bytes, bytes.length, id);
      headerProblem = "need" in h ? "header cannot be read" : compareHeader(s, p, h.entries);
    } catch (err) {
      headerProblem = msg(err);
    }
    if (bad.length > 0) {
      const why = `${bad.length} of ${p.blobs.length} blobs fail authentication (${bad.slice(0, 3).map(shortId).join(", ")}${bad.length > 3 ? ", …" : ""})`;
      s.damaged.set(id, why);
      s.problems.push({
        severity: "error",
        object: `pack ${shortId(id)}`,
        message: `Cannot use pack ${shortId(id)}: ${why}`,
      });
      for (const b of bad) s.badBlobs.add(`${p.type}:${b}@${id}`);
    } else if (headerProblem !== undefined) {
      markDamaged(s, id, headerProblem);
    } else if (!sumOk) {
      s.damaged.set(id, "checksum mismatch (all blobs still verify)");
      s.problems.push({
        severity: "error",
        object: `pack ${shortId(id)}`,
        message: `Cannot open pack ${shortId(id)}: checksum mismatch (all blobs still verify)`,
      });
    }
  });
}

/** Deterministically picks about `fraction` of `ids` (by SHA-256 of seed and ID). */
export function pickSubset(ids: readonly string[], fraction: number, seed: string): string[] {
  if (fraction >= 1) return [...ids];
  if (fraction <= 0) return [];
  const limit = Math.floor(fraction * 2 ** 32);
  const picked = ids.filter(
    (id) => createHash("sha256").update(`${seed}:${id}`).digest().readUInt32BE(0) < limit,
  );
  if (picked.length === 0 && ids.length > 0) {
    const sorted = [...ids].sort((a, b) =>
      createHash("sha256").update(`${seed}:${a}`).digest("hex") <
      createHash("sha256").update(`${seed}:${b}`).digest("hex")
        ? -1
        : 1,
    );
    return sorted.slice(0, 1);
  }
  return picked;
}
