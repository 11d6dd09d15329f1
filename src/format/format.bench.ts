// Throughput of the format hot paths (not a test): node --import tsx src/format/format.bench.ts
import { performance } from "node:perf_hooks";
import { encodeBlob } from "./blob.ts";
import { BlobTable } from "./blob-table.ts";
import { createKeyFile } from "./keys.ts";
import { Chunker, gearTable } from "./chunker.ts";
import { blobId } from "./ids.ts";
import { generateMasterKey } from "./master-key.ts";
import { seal, unseal } from "./seal.ts";
import { deterministicRandom, pseudoRandomBytes } from "./testing/deterministic-random.ts";

const MiB = 1024 * 1024;
const random = deterministicRandom("bench");
const master = generateMasterKey(random);
const data = pseudoRandomBytes(128 * MiB, 7);

function rate(label: string, bytes: number, fn: () => void): void {
  fn(); // warm up
  const t = performance.now();
  fn();
  const s = (performance.now() - t) / 1000;
  console.log(`${label.padEnd(40)} ${(bytes / MiB / s).toFixed(0).padStart(6)} MiB/s`);
}

const chunker = new Chunker(gearTable(master.chunkerSeed));
const buf = new Uint8Array(MiB);
let chunks = 0;
rate("chunker (1 MiB reused buffer, 128 MiB)", data.length, () => {
  chunker.reset();
  chunks = 0;
  for (let off = 0; off < data.length; off += MiB) {
    buf.set(data.subarray(off, off + MiB));
    let pos = 0;
    for (;;) {
      const c = chunker.next(buf, pos, buf.length);
      if (c < 0) break;
      chunks++;
      pos = c;
    }
  }
});
console.log(`  ${chunks} chunks, mean ${(data.length / (chunks + 1) / MiB).toFixed(2)} MiB`);

const blob = data.subarray(0, MiB);
const N = 64;
rate("blobId HMAC-SHA256 (1 MiB x 64)", N * MiB, () => {
  for (let i = 0; i < N; i++) blobId(master.macKey, blob);
});
let sealed = seal(master.encKey, "blob/data", blob, random);
rate("seal AES-256-GCM+HKDF (1 MiB x 64)", N * MiB, () => {
  for (let i = 0; i < N; i++) sealed = seal(master.encKey, "blob/data", blob, random);
});
rate("unseal (1 MiB x 64)", N * MiB, () => {
  for (let i = 0; i < N; i++) unseal(master.encKey, "blob/data", sealed);
});
rate("encodeBlob incompressible (1 MiB x 64)", N * MiB, () => {
  for (let i = 0; i < N; i++) encodeBlob(master, "data", blob, random);
});
const text = Buffer.from(
  "the quick brown fox jumps over the lazy dog 0123456789\n".repeat(20000),
).subarray(0, MiB);
rate("encodeBlob text (1 MiB x 64)", N * MiB, () => {
  for (let i = 0; i < N; i++) encodeBlob(master, "data", text, random);
});

const table = new BlobTable(1024);
const ids = Array.from({ length: 1_000_000 }, (_, i) =>
  blobId(master.macKey, Buffer.from(String(i))),
);
let t0 = performance.now();
ids.forEach((id, i) =>
  table.add("data", id, { packId: `p${i >> 12}`, offset: i, length: 100, rawLength: 90, flags: 1 }),
);
const addMs = performance.now() - t0;
t0 = performance.now();
let hits = 0;
for (const id of ids) if (table.has("data", id)) hits++;
const lookupMs = performance.now() - t0;
console.log(
  `blob table 1M: ${(table.byteSize / table.size).toFixed(0)} B/blob, add ${((addMs * 1000) / 1e6).toFixed(2)} µs, lookup ${((lookupMs * 1000) / 1e6).toFixed(2)} µs (${hits} hits)`,
);

t0 = performance.now();
createKeyFile(master, "password", { random, now: 0, hostname: "h", username: "u" });
console.log(
  `key file with default scrypt N=2^17 r=8 p=1: ${(performance.now() - t0).toFixed(0)} ms`,
);
