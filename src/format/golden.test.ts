import assert from "node:assert/strict";
import { createDecipheriv, createHash, createHmac, hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { decodeBlob } from "./blob.ts";
import { Chunker, chunkLengths, gearTable } from "./chunker.ts";
import { decodeConfig } from "./config.ts";
import { decodeIndex } from "./index-file.ts";
import { parseIndexPrefix } from "./index-pack-list.ts";
import { importMasterKey, openKeyFile, readKeyFileInfo } from "./keys.ts";
import { parseManifest } from "./manifest.ts";
import { masterKeyFromBytes } from "./master-key.ts";
import { readPackHeader } from "./pack.ts";
import { unseal } from "./seal.ts";
import { decodeSnapshot } from "./snapshot.ts";
import { decodeTree } from "./tree.ts";

// Format v1 golden vectors (testdata/format/vectors.json, made by testdata/format/generate.ts).
// These bytes are frozen: every future version of coffer must still read them.
interface Vectors {
  masterKey: string;
  password: string;
  config: string;
  keyFile: { id: string; text: string };
  exportJson: string;
  exportPaper: string;
  seal: { purpose: "snapshot"; plaintext: string; sealed: string };
  gearTableFirst8: number[];
  chunker: {
    params: { min: number; avg: number; max: number };
    input: { seed: number; length: number };
    lengths: number[];
  };
  blobs: { type: "data" | "tree"; raw: string; id: string; flags: number }[];
  dataPack: { id: string; hex: string };
  treePack: { id: string; hex: string };
  index: { id: string; hex: string };
  /** Added with ADR 0011: the same index with its plaintext pack list in front. */
  indexListed: { id: string; hex: string };
  snapshot: { id: string; hex: string; json: unknown };
  manifest: { id: string; text: string };
}
const v = JSON.parse(
  readFileSync(new URL("../../testdata/format/vectors.json", import.meta.url), "utf8"),
) as Vectors;
const master = masterKeyFromBytes(Buffer.from(v.masterKey, "hex"));
const h = (s: string) => Buffer.from(s, "hex");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("golden v1: sealing matches an independent implementation of the spec", () => {
  const s = h(v.seal.sealed);
  const k = Buffer.from(
    hkdfSync("sha256", master.encKey, s.subarray(0, 16), "coffer/v1/snapshot", 32),
  );
  const d = createDecipheriv("aes-256-gcm", k, Buffer.alloc(12));
  d.setAAD(Buffer.from("snapshot"));
  d.setAuthTag(s.subarray(s.length - 16));
  const plain = Buffer.concat([d.update(s.subarray(16, s.length - 16)), d.final()]);
  assert.equal(plain.toString("hex"), v.seal.plaintext);
  assert.equal(unseal(master.encKey, "snapshot", s).toString("hex"), v.seal.plaintext);
});

test("golden v1: config, key file and master key exports", () => {
  const config = decodeConfig(Buffer.from(v.config), master);
  assert.equal(config.version, 1);
  const kf = Buffer.from(v.keyFile.text);
  assert.equal(sha(kf), v.keyFile.id);
  assert.equal(readKeyFileInfo(kf).hostname, "golden");
  assert.deepEqual(openKeyFile(kf, v.password), master);
  assert.deepEqual(importMasterKey(v.exportJson), { master, repoId: config.id });
  assert.deepEqual(importMasterKey(v.exportPaper), { master, repoId: config.id });
});

test("golden v1: gear table and chunker cut points", () => {
  const g = gearTable(master.chunkerSeed);
  assert.deepEqual(Array.from(g.subarray(0, 8)), v.gearTableFirst8);
  const input = Buffer.alloc(v.chunker.input.length);
  let x = v.chunker.input.seed;
  for (let i = 0; i < input.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    input[i] = x & 0xff;
  }
  assert.deepEqual(chunkLengths(new Chunker(g, v.chunker.params), input), v.chunker.lengths);
});

test("golden v1: packs, blobs, tree, index, snapshot and manifest decode", () => {
  const packs = [v.dataPack, v.treePack].map((p) => {
    const bytes = h(p.hex);
    assert.equal(sha(bytes), p.id);
    const r = readPackHeader(master, bytes.subarray(bytes.length - 100), bytes.length, p.id);
    const hdr =
      "need" in r
        ? readPackHeader(master, bytes.subarray(bytes.length - r.need), bytes.length, p.id)
        : r;
    assert.ok("entries" in hdr);
    return hdr.entries.map((e) => ({ e, sealed: bytes.subarray(e.offset, e.offset + e.length) }));
  });
  const all = packs.flat();
  assert.equal(all.length, v.blobs.length);
  v.blobs.forEach((b, i) => {
    const { e, sealed } = all[i]!;
    assert.equal(e.id.toString("hex"), b.id);
    assert.equal(e.flags, b.flags);
    const raw = decodeBlob(master, b.type, sealed, e.flags, b.id, e.rawLength);
    assert.equal(createHmac("sha256", master.macKey).update(raw).digest("hex"), b.id);
    assert.equal(b.type === "tree" ? raw.toString("utf8") : raw.toString("hex"), b.raw);
  });
  const tree = decodeTree(Buffer.from(v.blobs[2]!.raw), v.blobs[2]!.id);
  assert.deepEqual(
    tree.map((n) => n.name.toString("hex")),
    ["68656c6c6f2e747874", "6c696e6b", "6e6f697365ff"],
  );
  assert.equal(tree[0]!.mtimeNs, 1704067200123456789n);

  const index = decodeIndex(master, h(v.index.hex), v.index.id);
  assert.deepEqual(
    index.packs.map((p) => [p.id, p.type, p.blobs.length]),
    [
      [v.dataPack.id, "data", 2],
      [v.treePack.id, "tree", 1],
    ],
  );

  const snap = decodeSnapshot(master, h(v.snapshot.hex), v.snapshot.id);
  assert.deepEqual(snap, v.snapshot.json);
  assert.equal(snap.tree, v.blobs[2]!.id);

  const m = parseManifest(Buffer.from(v.manifest.text));
  assert.equal(sha(Buffer.from(v.manifest.text)), v.manifest.id);
  assert.equal(m.snapshot, v.snapshot.id);
  assert.deepEqual(m.packs, [v.dataPack.id, v.treePack.id].sort());
});

test("golden v1: an index with a plaintext pack list decodes like the original layout", () => {
  const bytes = h(v.indexListed.hex);
  assert.equal(sha(bytes), v.indexListed.id);
  const prefix = parseIndexPrefix(bytes, bytes.length);
  assert.ok(prefix.layout === "listed");
  assert.deepEqual(prefix.packs, [v.dataPack.id, v.treePack.id].sort());
  assert.equal(parseIndexPrefix(h(v.index.hex), h(v.index.hex).length).layout, "sealed");
  assert.deepEqual(
    decodeIndex(master, bytes, v.indexListed.id),
    decodeIndex(master, h(v.index.hex), v.index.id),
  );
});
