// Throughput of the format hot paths (not a test): node --import tsx src/format/format.bench.ts
import { performance } from "node:perf_hooks";
import { encodeBlob } from "./blob.ts";
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
