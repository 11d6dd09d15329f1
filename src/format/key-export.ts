import { createHash } from "node:crypto";
import { CofferError } from "../core/errors.ts";
import { type MasterKey, masterKeyFromBytes, masterKeyToBytes } from "./master-key.ts";
import { Fields, isHexId, parseJsonObject } from "./validate.ts";

const PAPER_TITLE = "COFFER MASTER KEY v1";
const LINE_BYTES = 16;

function check(parts: Uint8Array[], bytes: number): string {
  const h = createHash("sha256").update("coffer/v1/paper");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, bytes * 2);
}

function payload(master: MasterKey, repoId: string): Buffer {
  if (!isHexId(repoId))
    throw new CofferError("BAD_INPUT", "Cannot export master key: invalid repository ID");
  return Buffer.concat([Buffer.from(repoId, "hex"), masterKeyToBytes(master)]);
}

/**
 * The master key as a JSON document for escrow (file form):
 * `{"coffer":"master-key","v":1,"repository","encKey","macKey","chunkerSeed"}` (hex).
 * Whoever holds it can read every backup of the repository.
 */
export function exportMasterKey(master: MasterKey, repoId: string): string {
  payload(master, repoId);
  const doc = {
    coffer: "master-key",
    v: 1,
    repository: repoId,
    encKey: master.encKey.toString("hex"),
    macKey: master.macKey.toString("hex"),
    chunkerSeed: master.chunkerSeed.toString("hex"),
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/**
 * The master key as printable text for paper escrow. The repository ID (32 bytes) and the
 * master key (96 bytes) are printed as 8 numbered lines of 16 bytes in hex groups, each with
 * a 4-hex-digit checksum over its line number and bytes, plus an overall check, so a typo
 * is caught on import and its line named.
 */
export function exportMasterKeyPaper(master: MasterKey, repoId: string): string {
  const data = payload(master, repoId);
  const lines = [PAPER_TITLE, `repository ${repoId}`, ""];
  for (let i = 0; i * LINE_BYTES < data.length; i++) {
    const chunk = data.subarray(i * LINE_BYTES, (i + 1) * LINE_BYTES);
    const groups = chunk.toString("hex").match(/.{4}/g) ?? [];
    const no = String(i + 1).padStart(2, "0");
    lines.push(`${no}  ${groups.join(" ")}  ${check([Uint8Array.of(i + 1), chunk], 2)}`);
  }
  lines.push("", `check ${check([data], 4)}`, "");
  return lines.join("\n");
}

function importPaper(text: string): { master: MasterKey; repoId: string } {
  const bad = (why: string): never => {
    throw new CofferError("BAD_INPUT", `Cannot import master key: ${why}`);
  };
  const rows = new Map<number, Buffer>();
  let total: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const tokens = raw
      .trim()
      .toLowerCase()
      .split(/\s+/)
      .filter((t) => t !== "");
    const first = tokens[0];
    if (first === undefined) continue;
    if (first === "check" && tokens.length === 2) {
      total = tokens[1];
      continue;
    }
    if (!/^[0-9]{1,2}$/.test(first)) continue;
    const no = Number(first);
    if (tokens.length < 3) bad(`line ${no} is incomplete`);
    const sum = tokens[tokens.length - 1]!;
    const hex = tokens.slice(1, -1).join("");
    if (!/^[0-9a-f]{32}$/.test(hex))
      bad(`line ${no} must hold 32 hex digits (found ${hex.length})`);
    const chunk = Buffer.from(hex, "hex");
    if (check([Uint8Array.of(no), chunk], 2) !== sum)
      bad(`line ${no} checksum mismatch (typo on that line?)`);
    if (rows.has(no)) bad(`line ${no} appears twice`);
    rows.set(no, chunk);
  }
  const parts: Buffer[] = [];
  for (let i = 1; i <= 8; i++) {
    const row = rows.get(i);
    if (row === undefined) return bad(`line ${i} is missing`);
    parts.push(row);
  }
  if (rows.size !== 8) bad("unexpected extra lines");
  const data = Buffer.concat(parts);
  if (total === undefined) bad('the final "check" line is missing');
  if (total !== check([data], 4)) bad("overall check mismatch (lines out of order?)");
  return {
    repoId: data.subarray(0, 32).toString("hex"),
    master: masterKeyFromBytes(data.subarray(32)),
  };
}

function importJson(text: string): { master: MasterKey; repoId: string } {
  const f = new Fields(
    parseJsonObject(text, "master key export", "BAD_INPUT"),
    "master key export",
    "BAD_INPUT",
  );
  if (f.string("coffer") !== "master-key") f.fail("coffer", 'must be "master-key"');
  const v = f.uint("v");
  if (v !== 1)
    throw new CofferError(
      "UNSUPPORTED_VERSION",
      `Cannot import master key: unsupported version ${v}`,
    );
  const repoId = f.id("repository");
  const parts = ["encKey", "macKey", "chunkerSeed"].map((k) => Buffer.from(f.id(k), "hex"));
  return { repoId, master: masterKeyFromBytes(Buffer.concat(parts)) };
}

/**
 * Reads either export form ({@link exportMasterKey} JSON or {@link exportMasterKeyPaper} text).
 * @throws CofferError BAD_INPUT naming the line with a typo.
 */
export function importMasterKey(text: string): { master: MasterKey; repoId: string } {
  return text.trimStart().startsWith("{") ? importJson(text) : importPaper(text);
}
