import { createHash } from "node:crypto";
import { FakeClock, type Random } from "../../core/deps.ts";
import type { KdfParams } from "../../format/keys.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import type { Storage } from "../../storage/storage.ts";
import { Repository } from "../repository/index.ts";

/** A cheap scrypt cost for tests (never for real repositories). */
export const TEST_KDF: KdfParams = { N: 1024, r: 8, p: 1 };

/** Deterministic randomness: SHA-256 counter stream from a label. */
export function seededRandom(label: string): Random {
  let counter = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const block = createHash("sha256").update(`${label}:${counter++}`).digest();
      off += block.copy(out, off);
    }
    return out;
  };
}

/** A fresh repository (default: in memory) with a cheap KDF and a fixed clock. */
export async function testRepository(
  o: { storage?: Storage; password?: string; seed?: string } = {},
): Promise<Repository> {
  return Repository.init(o.storage ?? new MemoryStorage(), o.password ?? "test-password", {
    random: seededRandom(o.seed ?? "test"),
    clock: new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5)),
    hostname: "testhost",
    username: "tester",
    kdf: TEST_KDF,
  });
}
