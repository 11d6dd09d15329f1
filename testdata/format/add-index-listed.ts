// Adds the `indexListed` vector to vectors.json (ADR 0011) without touching the frozen ones:
// the frozen `index` vector (original layout) re-encoded in the listed layout,
// "CIDX" ‖ u32le(len(J)) ‖ J ‖ seal(encKey, "index", zstd(JSON)). Run from the repo root:
//   node --import tsx testdata/format/add-index-listed.ts
import { readFileSync, writeFileSync } from "node:fs";
import { decodeIndex, encodeIndex } from "../../src/format/index-file.ts";
import { masterKeyFromBytes } from "../../src/format/master-key.ts";
import { deterministicRandom } from "../../src/format/testing/deterministic-random.ts";

const url = new URL("./vectors.json", import.meta.url);
const v = JSON.parse(readFileSync(url, "utf8")) as Record<string, unknown> & {
  masterKey: string;
  index: { id: string; hex: string };
};
const master = masterKeyFromBytes(Buffer.from(v.masterKey, "hex"));
const file = decodeIndex(master, Buffer.from(v.index.hex, "hex"), v.index.id);
const listed = encodeIndex(master, file, deterministicRandom("coffer golden v1 index pack list"));
v.indexListed = { id: listed.id, hex: Buffer.from(listed.bytes).toString("hex") };
writeFileSync(url, JSON.stringify(v, null, 2) + "\n");
console.log(`wrote indexListed ${listed.id} to testdata/format/vectors.json`);
