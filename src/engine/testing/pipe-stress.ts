/**
 * Shared pieces of the stress tests that turn a child process's output into a snapshot
 * (`backupCommand`, every `db backup` type): fixture files, a repository that is slow to
 * load its index (so the command has exited before anything reads its pipe), and the check
 * that a run either committed exactly the bytes produced or committed nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCofferError } from "../../core/errors.ts";
import { collect } from "../../core/parallel.ts";
import type { Repository } from "../repository/index.ts";

/**
 * Runs per kind of output: 25 in `npm test` (each run starts a worker pool, ~150 ms), 200 with
 * `npm run test:stress` (`COFFER_STRESS_RUNS=200`), whose result docs/testing.md records.
 */
export const STRESS_RUNS = Number(process.env.COFFER_STRESS_RUNS ?? "25");

/** Deterministic, poorly compressible bytes. */
export function noiseBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Writes `files` into a fresh temporary directory and returns its path. */
export function fixtureDir(files: Record<string, Buffer | string>): string {
  const dir = mkdtempSync(join(tmpdir(), "coffer-stress-"));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

/** SHA-256 hex of `b`. */
export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * Makes `repo.ensureIndex()` wait `ms` first, once per call: a command as quick as `printf`
 * has exited (and Node has flushed its pipes) before the backup reads a byte.
 */
export function slowIndexLoad(repo: Repository, ms: number): void {
  const load = repo.ensureIndex.bind(repo);
  repo.ensureIndex = async () => {
    await new Promise((r) => setTimeout(r, ms));
    await load();
  };
}

/** The bytes of the single file in snapshot `tree`, and the snapshot's recorded size. */
export async function storedFile(
  repo: Repository,
  tree: string,
): Promise<{ size: number; data: Buffer }> {
  const [node] = await repo.loadTree(tree);
  assert.ok(node, "the snapshot holds no file");
  const parts = await Promise.all((node.content ?? []).map((id) => repo.loadBlob("data", id)));
  return { size: node.size, data: Buffer.concat(parts) };
}

/** Counts the snapshot objects in `repo`. */
export async function snapshotCount(repo: Repository): Promise<number> {
  return (await collect(repo.storage.list("snapshots/"))).length;
}

/** What one stress run should end in. */
export type Expect = { bytes: Buffer } | { refused: RegExp };

/**
 * Runs `backup` and checks its outcome: with `bytes`, a snapshot holding exactly those bytes;
 * with `refused`, a CofferError whose message matches and no new snapshot.
 */
export async function expectOutcome(
  repo: Repository,
  label: string,
  want: Expect,
  backup: () => Promise<{ snapshot: { tree: string } }>,
): Promise<void> {
  const before = await snapshotCount(repo);
  if ("bytes" in want) {
    const r = await backup();
    const got = await storedFile(repo, r.snapshot.tree);
    assert.equal(got.size, want.bytes.length, `${label}: recorded size`);
    assert.equal(sha256(got.data), sha256(want.bytes), `${label}: stored bytes`);
    assert.equal(await snapshotCount(repo), before + 1, `${label}: one snapshot`);
  } else {
    await assert.rejects(
      backup(),
      (e: unknown) => isCofferError(e) && want.refused.test(e.message),
      label,
    );
    assert.equal(await snapshotCount(repo), before, `${label}: nothing committed`);
  }
}
