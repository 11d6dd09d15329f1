import { createHash } from "node:crypto";
import type { Random } from "../../core/deps.ts";

/**
 * A deterministic {@link Random} for tests and golden vectors: SHA-256(label ‖ u32be(counter))
 * blocks, concatenated. Never use it for real keys.
 */
export function deterministicRandom(label: string): Random {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n: number) => {
    while (pool.length < n) {
      const c = Buffer.alloc(4);
      c.writeUInt32BE(counter++, 0);
      pool = Buffer.concat([pool, createHash("sha256").update(label).update(c).digest()]);
    }
    const out = Buffer.from(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
}

/** Deterministic pseudo-random bytes (xorshift32), fast enough for chunker inputs. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
