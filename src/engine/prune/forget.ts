import { CofferError, isCofferError } from "../../core/errors.ts";
import { shortId } from "../../format/ids.ts";
import { parseManifest } from "../../format/manifest.ts";
import type { Snapshot } from "../../format/snapshot.ts";
import { parseTimeNs } from "../../format/time.ts";
import {
  applyPolicy,
  type RetentionDecision,
  type RetentionPolicy,
  type RetentionSnapshot,
} from "../../retention/index.ts";
import type { Storage } from "../../storage/storage.ts";
import { type SnapshotFilter, matchesFilter } from "../browse/index.ts";
import { collect, mapLimit } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";

/** Gateway object listing the bucket's pending deletions (docs/format.md, "Gateway objects"). */
export const PENDING_DELETIONS_KEY = "gateway/pending-deletions.json";

/** A manifest as found in storage. */
export interface StoredManifest {
  key: string;
  snapshot: string;
  packs: string[];
}

/** A pending deletion the gateway reports for a key. */
export interface PendingDeletion {
  id: number;
  key: string;
  reason: string;
  requestedAt: string;
  executeAfter: string;
}

/** Every readable manifest, by snapshot ID (a retried commit can leave several). */
export async function readManifests(
  storage: Storage,
  concurrency = 8,
): Promise<Map<string, StoredManifest[]>> {
  const keys = (await collect(storage.list("manifests/"))).map((o) => o.key).sort();
  const out = new Map<string, StoredManifest[]>();
  const read = await mapLimit(keys, concurrency, async (key) => {
    try {
      const m = parseManifest(await storage.get(key));
      return { key, snapshot: m.snapshot, packs: m.packs };
    } catch (err) {
      if (isCofferError(err, "NOT_FOUND")) return undefined;
      throw new CofferError(
        isCofferError(err) ? err.code : "CORRUPT",
        `Cannot read ${key}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  });
  for (const m of read) {
    if (m === undefined) continue;
    const list = out.get(m.snapshot) ?? [];
    list.push(m);
    out.set(m.snapshot, list);
  }
  return out;
}

/**
 * The gateway's pending deletions by key (`gateway/pending-deletions.json`), or undefined
 * when the repository is not behind a coffer gateway.
 */
export async function pendingDeletions(
  storage: Storage,
): Promise<Map<string, PendingDeletion> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(PENDING_DELETIONS_KEY);
  } catch (err) {
    if (isCofferError(err, "NOT_FOUND")) return undefined;
    if (isCofferError(err) && /\b(403|AccessDenied|BAD_INPUT)\b/.test(`${err.code} ${err.message}`))
      return undefined;
    throw err;
  }
  let doc: { deletions?: PendingDeletion[] };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as { deletions?: PendingDeletion[] };
  } catch {
    return undefined;
  }
  return new Map(
    (doc.deletions ?? []).filter((d) => typeof d.key === "string").map((d) => [d.key, d]),
  );
}

/** What happened to one forgotten snapshot. */
export interface ForgetOutcome {
  id: string;
  /**
   * `removed`: gone now (client-managed storage); `pending`: the gateway delays it;
   * `would-remove`: a dry run, nothing was changed.
   */
  state: "removed" | "pending" | "would-remove";
  /** With `pending`: when the gateway executes it (RFC 3339). */
  executeAfter?: string;
  deletionId?: number;
  manifests: string[];
}

/**
 * Forgets snapshots: deletes `snapshots/<id>` and its `manifests/…` objects. Behind a coffer
 * gateway the DELETE only files a pending deletion: the outcome says so, with its execution
 * date (from `gateway/pending-deletions.json`). Packs are reclaimed by `prune` (or the
 * gateway's GC), never here.
 */
export async function forgetSnapshots(
  repo: Repository,
  ids: readonly string[],
  manifests?: Map<string, StoredManifest[]>,
): Promise<ForgetOutcome[]> {
  const byId = manifests ?? (await readManifests(repo.storage));
  const out: ForgetOutcome[] = [];
  for (const id of ids) {
    const mkeys = (byId.get(id) ?? []).map((m) => m.key);
    // Snapshot first: a manifest without its snapshot is ignored by retention and GC.
    await repo.storage.delete(`snapshots/${id}`);
    for (const k of mkeys) await repo.storage.delete(k);
    out.push({ id, state: "removed", manifests: mkeys });
  }
  const stillThere = await mapLimit(
    out,
    8,
    async (o) => (await repo.storage.head(`snapshots/${o.id}`)) !== undefined,
  );
  if (stillThere.some(Boolean)) {
    const pending = (await pendingDeletions(repo.storage)) ?? new Map<string, PendingDeletion>();
    out.forEach((o, i) => {
      if (stillThere[i] !== true) return;
      const d = pending.get(`snapshots/${o.id}`);
      if (d === undefined)
        throw new CofferError(
          "IO",
          `Cannot forget snapshot ${shortId(o.id)}: the storage kept it and reports no pending deletion`,
        );
      o.state = "pending";
      o.executeAfter = d.executeAfter;
      o.deletionId = d.id;
    });
  }
  return out;
}

/** A snapshot's time in ms (its RFC 3339 ns timestamp, truncated). */
export function snapshotTimeMs(s: Snapshot): number {
  return Number(parseTimeNs(s.time) / 1_000_000n);
}

/** Result of {@link forgetByPolicy}. */
export interface ForgetPolicyResult {
  decision: RetentionDecision;
  forgotten: ForgetOutcome[];
  dryRun: boolean;
}

/**
 * Applies a retention policy to the repository's snapshots (optionally filtered) at `now`
 * with the snapshots' own times, and forgets what it does not keep (unless `dryRun`).
 * Snapshots already pending deletion at the gateway are left out.
 */
export async function forgetByPolicy(
  repo: Repository,
  policy: RetentionPolicy,
  o: {
    now: number;
    dryRun?: boolean;
    filter?: SnapshotFilter;
    timeZone?: string;
    anchor?: "latest" | "now";
  },
): Promise<ForgetPolicyResult> {
  const pending = (await pendingDeletions(repo.storage)) ?? new Map<string, PendingDeletion>();
  const all = await repo.loadSnapshots();
  const input: RetentionSnapshot[] = all
    .filter(
      ({ id, snapshot }) => matchesFilter(snapshot, o.filter) && !pending.has(`snapshots/${id}`),
    )
    .map(({ id, snapshot: s }) => ({
      id,
      time: snapshotTimeMs(s),
      host: s.host,
      tags: s.tags,
      paths: s.paths,
    }));
  const decision = applyPolicy(input, policy, {
    now: o.now,
    anchor: o.anchor ?? "latest",
    timeZone: o.timeZone ?? "UTC",
  });
  const kept = new Set(decision.groups.flatMap((g) => g.keep.map((k) => k.id)));
  const ids = [...new Set(decision.groups.flatMap((g) => g.forget.map((f) => f.id)))]
    .filter((id) => !kept.has(id))
    .sort();
  const forgotten =
    o.dryRun === true
      ? ids.map((id): ForgetOutcome => ({ id, state: "would-remove", manifests: [] }))
      : await forgetSnapshots(repo, ids);
  return { decision, forgotten, dryRun: o.dryRun === true };
}
