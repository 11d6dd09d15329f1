// The plaintext pack list in front of an index object (docs/format.md §7, ADR 0011).
// Keyless on purpose: the gateway parses it (it never imports seal/keys).

/** The 4 bytes that open an index object with a plaintext pack list: ASCII "CIDX". */
export const INDEX_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x43, 0x49, 0x44, 0x58);

/** Size of `magic ‖ u32le(len(J))`. */
export const INDEX_PREFIX_HEAD = 8;

/**
 * Largest pack list accepted (bytes of `J`): 64 MiB ≈ 960,000 packs ≈ 15 TiB of 16 MiB packs
 * in one index object, far beyond what the 1 GiB bound on the sealed index JSON allows.
 */
export const MAX_PACK_LIST_BYTES = 64 * 1024 * 1024;

/** Smallest sealed body (salt 16 + tag 16, see §4); kept here so this file needs no crypto. */
const MIN_SEALED_BYTES = 32;

/** What the first bytes of an index object say about its layout. */
export type IndexPrefix =
  /** No magic: the original layout, `seal(...)` only (never collected by the gateway). */
  | { layout: "sealed" }
  /** A valid plaintext pack list; the sealed body starts at `bodyOffset`. */
  | { layout: "listed"; packs: string[]; bodyOffset: number }
  /** Read more: the first `bytes` bytes of the object are needed. */
  | { layout: "need"; bytes: number }
  /** The magic announces a list longer than {@link MAX_PACK_LIST_BYTES}. */
  | { layout: "too-large"; length: number }
  /** The magic is there but no valid list follows (a sealed object starting with it by chance, or damage). */
  | { layout: "invalid"; why: string };

/**
 * The canonical JSON of a pack list, `{"v":1,"packs":[…]}` with the IDs sorted ascending and
 * unique. This is the only accepted encoding, so one sealed body has exactly one valid prefix.
 */
export function packListJson(packIds: Iterable<string>): string {
  return JSON.stringify({ v: 1, packs: [...new Set(packIds)].sort() });
}

/** `INDEX_MAGIC ‖ u32le(len(J)) ‖ J` for the given pack IDs (any order, duplicates allowed). */
export function encodeIndexPrefix(packIds: Iterable<string>): Buffer {
  const j = Buffer.from(packListJson(packIds), "utf8");
  if (j.length > MAX_PACK_LIST_BYTES)
    throw new RangeError(`pack list of ${j.length} bytes exceeds ${MAX_PACK_LIST_BYTES}`);
  const head = Buffer.alloc(INDEX_PREFIX_HEAD);
  head.set(INDEX_MAGIC, 0);
  head.writeUInt32LE(j.length, 4);
  return Buffer.concat([head, j]);
}

function hasMagic(b: Uint8Array): boolean {
  return INDEX_MAGIC.every((x, i) => b[i] === x);
}

/**
 * Parses the plaintext prefix of an index object from its first bytes.
 * @param head the object's first bytes (any length; the answer may be `need`)
 * @param size the object's total size
 */
export function parseIndexPrefix(head: Uint8Array, size: number): IndexPrefix {
  if (size < INDEX_PREFIX_HEAD + MIN_SEALED_BYTES) return { layout: "sealed" };
  if (head.length < INDEX_PREFIX_HEAD) return { layout: "need", bytes: INDEX_PREFIX_HEAD };
  if (!hasMagic(head)) return { layout: "sealed" };
  const length = Buffer.from(head.buffer, head.byteOffset, head.length).readUInt32LE(4);
  if (length > MAX_PACK_LIST_BYTES) return { layout: "too-large", length };
  const bodyOffset = INDEX_PREFIX_HEAD + length;
  if (bodyOffset + MIN_SEALED_BYTES > size)
    return { layout: "invalid", why: "the list length exceeds the object" };
  if (head.length < bodyOffset) return { layout: "need", bytes: bodyOffset };
  let text: string;
  let doc: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      head.subarray(INDEX_PREFIX_HEAD, bodyOffset),
    );
    doc = JSON.parse(text);
  } catch {
    return { layout: "invalid", why: "the list is not JSON" };
  }
  const packs = (doc as { packs?: unknown } | null)?.packs;
  if (
    !Array.isArray(packs) ||
    !packs.every((p): p is string => typeof p === "string" && /^[0-9a-f]{64}$/.test(p))
  )
    return { layout: "invalid", why: 'the list has no valid "packs"' };
  if (packListJson(packs) !== text)
    return { layout: "invalid", why: "the list is not canonical (v 1, sorted, unique)" };
  return { layout: "listed", packs, bodyOffset };
}
