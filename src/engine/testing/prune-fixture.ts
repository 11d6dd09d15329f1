// Test support for the prune/repack tests: a small-pack repository on local storage, files
// with known content, and a verifier (check --read-data, bit-exact restore, manifests).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packKey } from "../../format/pack.ts";
import { LocalStorage } from "../../storage/local.ts";
import type { Storage } from "../../storage/storage.ts";
import { backup } from "../backup/index.ts";
import { check } from "../check/index.ts";
import { readManifests } from "../prune/index.ts";
import { Repository } from "../repository/index.ts";
import { restore } from "../restore/index.ts";
import { TEST_KDF } from "./fixtures.ts";

/** Pack size of fixture repositories: 64 KiB, so a few hundred KiB make many packs. */
export const FIXTURE_PACK_SIZE = 64 * 1024;

/** Incompressible deterministic bytes. */
export function content(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let o = 0; o < size; o += 32)
    createHash("sha256").update(`${seed} ${o}`).digest().copy(out, o);
  return out;
}

/** Relative path → SHA-256 of every file under `dir`. */
export function digestTree(
  dir: string,
  base = dir,
  out = new Map<string, string>(),
): Map<string, string> {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) digestTree(p, base, out);
    else out.set(p.slice(base.length), createHash("sha256").update(readFileSync(p)).digest("hex"));
  }
  return out;
}

/** A scratch repository plus a source directory. */
export interface PruneFixture {
  dir: string;
  src: string;
  repoDir: string;
  /** What each snapshot must restore to. */
  expected: Map<string, Map<string, string>>;
  open(storage?: Storage): Promise<Repository>;
  /** Writes `src/<name>` with {@link content}. */
  write(name: string, seed: string, size: number): void;
  /** Backs up `src` and records its expected content; returns the snapshot ID. */
  snap(time: number, storage?: Storage): Promise<string>;
  remove(): void;
}

/** Makes a fixture (small chunker and packs, cheap KDF). */
export async function pruneFixture(): Promise<PruneFixture> {
  const dir = mkdtempSync(join(tmpdir(), "coffer-prune-"));
  const src = join(dir, "src");
  const repoDir = join(dir, "repo");
  mkdirSync(src);
  await Repository.init(new LocalStorage(repoDir), "pw", {
    hostname: "h",
    username: "u",
    kdf: TEST_KDF,
    packSize: FIXTURE_PACK_SIZE,
    chunker: { min: 2048, avg: 4096, max: 16384 },
  });
  const fx: PruneFixture = {
    dir,
    src,
    repoDir,
    expected: new Map(),
    open: (storage) => Repository.open(storage ?? new LocalStorage(repoDir), "pw"),
    write(name, seed, size) {
      writeFileSync(join(src, name), content(seed, size));
    },
    async snap(time, storage) {
      const r = await backup(await fx.open(storage), {
        paths: [src],
        host: "h",
        time,
        workers: 1,
      });
      fx.expected.set(r.snapshotId, digestTree(src));
      return r.snapshotId;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fx;
}

/** Stored bytes under `data/`. */
export async function packBytes(repo: Repository): Promise<number> {
  return (await repo.listPackObjects()).reduce((n, p) => n + p.size, 0);
}

/**
 * Asserts the repository is whole: `check --read-data` finds no error, every remaining
 * snapshot restores bit-exactly, and every manifest names only stored packs.
 */
export async function assertIntact(fx: PruneFixture, label: string): Promise<void> {
  const repo = await fx.open();
  const report = await check(repo, { readData: true });
  assert.deepEqual(
    report.problems.filter((p) => p.severity === "error"),
    [],
    `${label}: check --read-data`,
  );
  const ids = await repo.listSnapshotIds();
  for (const id of ids) {
    const out = join(fx.dir, `restore-${label.replace(/\W+/g, "-")}-${id.slice(0, 8)}`);
    const r = await restore(repo, id, { target: out });
    assert.deepEqual(r.errors, [], `${label}: restore ${id.slice(0, 8)}`);
    assert.deepEqual(
      digestTree(join(out, fx.src)),
      fx.expected.get(id),
      `${label}: ${id.slice(0, 8)}`,
    );
    rmSync(out, { recursive: true, force: true });
  }
  const manifests = await readManifests(repo.storage);
  for (const id of ids)
    assert.ok(manifests.has(id), `${label}: snapshot ${id.slice(0, 8)} has a manifest`);
  for (const list of manifests.values())
    for (const m of list)
      for (const p of m.packs)
        assert.ok(
          (await repo.storage.head(packKey(p))) !== undefined,
          `${label}: ${m.key} names missing pack ${p.slice(0, 8)}`,
        );
}
