import { CofferError } from "../../core/errors.ts";
import type { Storage } from "../../storage/storage.ts";
import type { AuditLog } from "./audit-log.ts";

/**
 * Storage prefix of chain-head anchors. It lies outside `buckets/`, so no source credential
 * can reach it: the gateway maps every S3 key to `buckets/<bucket>/<key>`.
 */
export const ANCHOR_PREFIX = "audit-anchors/";

/** An anchor: the chain head (seq, hash) at a moment, written once to storage. */
export interface Anchor {
  key: string;
  seq: number;
  hash: string;
  time: number;
}

/** `audit-anchors/<seq, 12 digits>-<hash>`. */
export function anchorKey(seq: number, hash: string): string {
  return `${ANCHOR_PREFIX}${String(seq).padStart(12, "0")}-${hash}`;
}

/**
 * Writes the current chain head as a write-once object (no-op when it is already anchored or
 * the log is empty). Returns the anchor written, if any.
 */
export async function writeAnchor(
  audit: AuditLog,
  storage: Storage,
  now: number,
): Promise<Anchor | undefined> {
  const head = await audit.head();
  if (head.seq === 0) return undefined;
  const key = anchorKey(head.seq, head.hash);
  const body = Buffer.from(
    JSON.stringify({ v: 1, seq: head.seq, hash: head.hash, time: new Date(now).toISOString() }) +
      "\n",
  );
  const r = await storage.putIfAbsent(key, body);
  return r === "created" ? { key, seq: head.seq, hash: head.hash, time: now } : undefined;
}

/** Every anchor in storage, by seq; the object's content must agree with its name. */
export async function listAnchors(
  storage: Storage,
): Promise<{ anchors: Anchor[]; bad: { key: string; message: string }[] }> {
  const anchors: Anchor[] = [];
  const bad: { key: string; message: string }[] = [];
  for await (const o of storage.list(ANCHOR_PREFIX)) {
    const m = /^audit-anchors\/(\d{12})-([0-9a-f]{64})$/.exec(o.key);
    if (!m) {
      bad.push({ key: o.key, message: "not an anchor name" });
      continue;
    }
    const seq = Number(m[1]);
    const hash = m[2] ?? "";
    try {
      const doc = JSON.parse(Buffer.from(await storage.get(o.key)).toString("utf8")) as {
        seq?: unknown;
        hash?: unknown;
        time?: unknown;
      };
      if (doc.seq !== seq || doc.hash !== hash)
        throw new CofferError("CORRUPT", "content differs from its name");
      anchors.push({ key: o.key, seq, hash, time: Date.parse(String(doc.time)) });
    } catch (err) {
      bad.push({ key: o.key, message: err instanceof Error ? err.message : String(err) });
    }
  }
  anchors.sort((a, b) => a.seq - b.seq);
  return { anchors, bad };
}
