// Regenerates vectors.json (format v1 golden vectors). Run from the repo root:
//   node --import tsx testdata/format/generate.ts
// Only regenerate when adding vectors; existing vectors must keep decoding forever.
// Later additions derive from the frozen vectors instead (add-index-listed.ts, ADR 0011).
import { writeFileSync } from "node:fs";
import { encodeBlob } from "../../src/format/blob.ts";
import { Chunker, chunkLengths, gearTable } from "../../src/format/chunker.ts";
import { createConfig, encodeConfig } from "../../src/format/config.ts";
import { compress } from "zstd-napi";
import { objectId } from "../../src/format/ids.ts";
import { createKeyFile, exportMasterKey, exportMasterKeyPaper } from "../../src/format/keys.ts";
import { encodeManifest } from "../../src/format/manifest.ts";
import { masterKeyFromBytes } from "../../src/format/master-key.ts";
import { PackBuilder } from "../../src/format/pack.ts";
import { seal } from "../../src/format/seal.ts";
import { encodeSnapshot } from "../../src/format/snapshot.ts";
import { deterministicRandom, pseudoRandomBytes } from "../../src/format/testing/deterministic-random.ts";
import { encodeTree } from "../../src/format/tree.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const master = masterKeyFromBytes(Buffer.from(Array.from({ length: 96 }, (_, i) => i)));
const random = deterministicRandom("coffer golden v1");
const password = "golden password";
const kdf = { N: 1024, r: 8, p: 1 };

const config = createConfig(master, random, { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 1 << 20 });
const keyFile = createKeyFile(master, password, { random, now: Date.UTC(2024, 0, 1), hostname: "golden", username: "tester", kdf });

const sealPlain = Buffer.from("coffer seal vector");
const sealed = seal(master.encKey, "snapshot", sealPlain, random);

const text = Buffer.from("hello coffer\n".repeat(100));
const noise = pseudoRandomBytes(300, 3);
const dataBlobs = [encodeBlob(master, "data", text, random), encodeBlob(master, "data", noise, random)];
const dataPack = new PackBuilder("data");
for (const b of dataBlobs) dataPack.add(b);
const pack = dataPack.finish(master, random);

const treeNodes = [
  {
    name: Buffer.from("hello.txt"), type: "file" as const, mode: 0o100644, uid: 1000, gid: 1000, user: "tester", group: "tester",
    mtimeNs: 1704067200123456789n, atimeNs: 1704067200123456789n, ctimeNs: 1704067200123456789n, size: text.length,
    inode: 42n, devId: 2049n, links: 1, content: [hex(dataBlobs[0]!.id)],
  },
  {
    name: Buffer.from([0x6e, 0x6f, 0x69, 0x73, 0x65, 0xff]), type: "file" as const, mode: 0o100600, uid: 0, gid: 0, user: "root", group: "root",
    mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, size: noise.length, inode: 43n, devId: 2049n, links: 1, content: [hex(dataBlobs[1]!.id)],
    xattrs: [{ name: "user.comment", value: Buffer.from("golden") }],
  },
  {
    name: Buffer.from("link"), type: "symlink" as const, mode: 0o120777, uid: 0, gid: 0, user: "root", group: "root",
    mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, size: 9, inode: 44n, devId: 2049n, links: 1, linkTarget: Buffer.from("hello.txt"),
  },
];
const treeRaw = encodeTree(treeNodes);
const treeBlob = encodeBlob(master, "tree", treeRaw, random);
const treePackB = new PackBuilder("tree");
treePackB.add(treeBlob);
const treePack = treePackB.finish(master, random);

const indexFile = {
  v: 1 as const,
  packs: [pack, treePack].map((p) => ({
    id: p.id, type: p.type, size: p.bytes.length,
    blobs: p.entries.map((e) => [hex(e.id), e.offset, e.length, e.rawLength, e.flags] as [string, number, number, number, number]),
  })),
  supersedes: [],
};
// The original index layout (no plaintext pack list, before ADR 0011): seal(encKey, "index", zstd(JSON)).
const indexSealed = seal(master.encKey, "index", compress(Buffer.from(JSON.stringify(indexFile), "utf8"), { compressionLevel: 3 }), random);
const index = { id: objectId(indexSealed), bytes: indexSealed };

const snapshot = {
  v: 1 as const, time: "2024-01-01T00:00:00.000000000Z", host: "golden", paths: ["/golden"], tags: ["vector"], tree: hex(treeBlob.id),
  username: "tester", hostname: "golden", program: "coffer 0.1.0",
  stats: { files: 2, dirs: 1, bytes: text.length + noise.length, newFiles: 2, changedFiles: 0, unchangedFiles: 0, addedBytes: text.length + noise.length + treeRaw.length, storedBytes: pack.bytes.length + treePack.bytes.length },
};
const snap = encodeSnapshot(master, snapshot, random);
const manifest = encodeManifest({ v: 1, snapshot: snap.id, host: snapshot.host, tags: snapshot.tags, time: snapshot.time, stats: snapshot.stats, packs: [pack.id, treePack.id] });

const chunkParams = { min: 1024, avg: 4096, max: 16384 };
const chunkInput = { generator: "xorshift32", seed: 42, length: 100000 };
const lengths = chunkLengths(new Chunker(gearTable(master.chunkerSeed), chunkParams), pseudoRandomBytes(chunkInput.length, chunkInput.seed));

const repoId = config.id;
const vectors = {
  format: 1,
  note: "Format v1 golden vectors. Master key = bytes 0..95. Every future version must decode these.",
  masterKey: hex(Buffer.concat([master.encKey, master.macKey, master.chunkerSeed])),
  password,
  config: Buffer.from(encodeConfig(config)).toString("utf8"),
  keyFile: { id: keyFile.id, text: Buffer.from(keyFile.bytes).toString("utf8") },
  exportJson: exportMasterKey(master, repoId),
  exportPaper: exportMasterKeyPaper(master, repoId),
  seal: { purpose: "snapshot", plaintext: hex(sealPlain), sealed: hex(sealed) },
  gearTableFirst8: Array.from(gearTable(master.chunkerSeed).subarray(0, 8)),
  chunker: { params: chunkParams, input: chunkInput, lengths },
  blobs: [
    { type: "data", raw: hex(text), id: hex(dataBlobs[0]!.id), flags: dataBlobs[0]!.flags },
    { type: "data", raw: hex(noise), id: hex(dataBlobs[1]!.id), flags: dataBlobs[1]!.flags },
    { type: "tree", raw: treeRaw.toString("utf8"), id: hex(treeBlob.id), flags: treeBlob.flags },
  ],
  dataPack: { id: pack.id, hex: hex(pack.bytes) },
  treePack: { id: treePack.id, hex: hex(treePack.bytes) },
  index: { id: index.id, hex: hex(index.bytes) },
  snapshot: { id: snap.id, hex: hex(snap.bytes), json: snapshot },
  manifest: { id: manifest.id, text: Buffer.from(manifest.bytes).toString("utf8") },
};
writeFileSync(new URL("./vectors.json", import.meta.url), JSON.stringify(vectors, null, 2) + "\n");
console.log("wrote testdata/format/vectors.json");
