// Test helpers for index GC (gateway tests only).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { compress } from "zstd-napi";
import { emptyStats } from "../../engine/backup/index.ts";
import { encodeIndex, type IndexFile } from "../../format/index-file.ts";
import { encodeManifest } from "../../format/manifest.ts";
import { generateMasterKey } from "../../format/master-key.ts";
import { seal } from "../../format/seal.ts";
import { deterministicRandom } from "../../format/testing/deterministic-random.ts";
import { runMaintenance } from "../retention/maintenance.ts";
import type { TestCreds, TestGateway } from "../testing/harness.ts";

export const DAY = 86_400_000;
const random = deterministicRandom("index gc");
/** A client master key (the gateway never sees it). */
export const master = generateMasterKey(random);
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** PUT through the gateway; returns status and body text. */
export async function put(
  gw: TestGateway,
  c: TestCreds,
  key: string,
  body: Uint8Array,
): Promise<{ status: number; body: string }> {
  const r = await gw.signed(c, {
    method: "PUT",
    path: `/${c.bucket}/${key}`,
    body: Buffer.from(body),
  });
  return { status: r.status, body: r.body.toString() };
}

/** The storage key of a pack. */
export const packKey = (id: string): string => `data/${id.slice(0, 2)}/${id}`;

/** Uploads a pack-named object (the gateway never reads packs) and returns its ID. */
export async function putPack(gw: TestGateway, c: TestCreds, label: string): Promise<string> {
  const body = Buffer.from(`pack ${label}`);
  const id = sha(body);
  assert.equal((await put(gw, c, packKey(id), body)).status, 200);
  return id;
}

/** An index file describing `packs` (one blob each). */
export function indexOf(packs: string[]): IndexFile {
  return {
    v: 1,
    packs: packs.map((id) => ({ id, type: "data", size: 100, blobs: [[id, 0, 100, 100, 0]] })),
    supersedes: [],
  };
}

/** Uploads an index in the listed layout; returns its key. */
export async function putIndex(gw: TestGateway, c: TestCreds, packs: string[]): Promise<string> {
  const { id, bytes } = encodeIndex(master, indexOf(packs), random);
  assert.equal((await put(gw, c, `index/${id}`, bytes)).status, 200);
  return `index/${id}`;
}

/** Uploads an index in the original layout (no plaintext list); returns its key. */
export async function putLegacyIndex(
  gw: TestGateway,
  c: TestCreds,
  packs: string[],
): Promise<string> {
  const bytes = seal(
    master.encKey,
    "index",
    compress(Buffer.from(JSON.stringify(indexOf(packs)))),
    random,
  );
  const key = `index/${sha(bytes)}`;
  assert.equal((await put(gw, c, key, bytes)).status, 200);
  return key;
}

/** Uploads a snapshot-named object and its manifest referencing `packs`. */
export async function putSnapshot(
  gw: TestGateway,
  c: TestCreds,
  label: string,
  packs: string[],
): Promise<string> {
  const body = Buffer.from(`snapshot ${label}`);
  const id = sha(body);
  assert.equal((await put(gw, c, `snapshots/${id}`, body)).status, 200);
  const m = encodeManifest({
    v: 1,
    snapshot: id,
    host: "web-01",
    tags: [],
    time: "2000-01-01T00:00:00Z",
    stats: emptyStats(),
    packs: [...packs].sort(),
  });
  assert.equal((await put(gw, c, `manifests/${m.id}`, m.bytes)).status, 200);
  return id;
}

/**
 * Moves the gateway clock to `t` and runs one maintenance pass there (14-day delay, 1-day
 * margin, no retention floor: these tests exercise short policies like `keep-last 2`).
 */
export function maintainAt(gw: TestGateway, t: number): ReturnType<typeof runMaintenance> {
  gw.clockOffset = t - Date.now();
  return runMaintenance(gw.running.metadata, gw.running.gateway.deps.objects.storage, t, {
    minDelayMs: 14 * DAY,
    gcMarginMs: DAY,
    floor: { minAgeMs: 0, days: 0 },
  });
}

/** Keys present in the bucket under `prefix`, per the gateway ledger. */
export async function keysUnder(
  gw: TestGateway,
  bucket: string,
  prefix: string,
): Promise<string[]> {
  const rows = await gw.running.metadata.db.all<{ key: string }>(
    "SELECT key FROM objects WHERE bucket = ? AND substr(key, 1, ?) = ? ORDER BY key",
    [bucket, prefix.length, prefix],
  );
  return rows.map((r) => r.key);
}

/** Index keys filed by GC in a maintenance report. */
export function filedIndexes(r: Awaited<ReturnType<typeof runMaintenance>>): string[] {
  return r.gc.flatMap((g) => g.indexes?.filed ?? []);
}
