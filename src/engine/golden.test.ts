import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseManifest } from "../format/manifest.ts";
import { LocalStorage } from "../storage/local.ts";
import { check } from "./check/index.ts";
import { ls } from "./browse/index.ts";
import { collect } from "../core/parallel.ts";
import { Repository } from "./repository/index.ts";
import { restore } from "./restore/index.ts";
import { GOLDEN_DIR, type GoldenExpected, describeTree } from "./testing/make-golden.ts";

// The checked-in v1 repository (testdata/repo-v1, built once by testing/make-golden.ts) must
// be read by every future Coffer. Never regenerate it to make this test pass.

const expected = JSON.parse(
  await readFile(join(GOLDEN_DIR, "expected.json"), "utf8"),
) as GoldenExpected;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A scratch copy of the golden repository (so nothing, not even a tmp/ dir, touches testdata). */
async function openGolden(): Promise<{ repo: Repository; base: string }> {
  const base = await mkdtemp(join(tmpdir(), "coffer-golden-"));
  dirs.push(base);
  await cp(join(GOLDEN_DIR, "repo"), join(base, "repo"), { recursive: true });
  const repo = await Repository.open(new LocalStorage(join(base, "repo")), expected.password);
  return { repo, base };
}

test("golden v1 repository: every object is named by the SHA-256 of its bytes", async () => {
  const { repo } = await openGolden();
  const objects = await collect(repo.storage.list(""));
  const prefixes = new Set<string>();
  for (const o of objects) {
    if (o.key === "config") continue;
    const name = o.key.slice(o.key.lastIndexOf("/") + 1);
    prefixes.add(o.key.split("/")[0]!);
    const sum = createHash("sha256")
      .update(await repo.storage.get(o.key))
      .digest("hex");
    assert.equal(sum, name, `${o.key}: name is not the SHA-256 of its bytes`);
    if (o.key.startsWith("data/")) assert.equal(o.key, `data/${name.slice(0, 2)}/${name}`);
  }
  assert.deepEqual([...prefixes].sort(), ["data", "index", "keys", "manifests", "snapshots"]);
});

test("golden v1 repository opens with its password and passes check --read-data", async () => {
  const { repo } = await openGolden();
  assert.equal(repo.config.version, 1);
  assert.equal(repo.config.packSize, expected.config.packSize);
  assert.deepEqual(repo.config.chunker, expected.config.chunker);
  await assert.rejects(
    Repository.open(repo.storage, "not-the-password"),
    (e: { code?: string }) => e.code === "WRONG_PASSWORD",
  );
  const report = await check(repo, { readData: true });
  assert.deepEqual(report.problems, []);
  assert.ok(report.ok);
  assert.equal(report.stats.packsRead, report.stats.packs);
  assert.ok(report.stats.packs >= 3, "expected several data packs and a tree pack");
  assert.equal(report.stats.snapshots, expected.snapshots.length);
  const manifests = await collect(repo.storage.list("manifests/"));
  const named = new Set<string>();
  for (const m of manifests) named.add(parseManifest(await repo.storage.get(m.key)).snapshot);
  assert.deepEqual([...named].sort(), expected.snapshots.map((s) => s.id).sort());
});

test("golden v1 snapshots restore exactly as expected.json describes", async () => {
  const { repo, base } = await openGolden();
  assert.deepEqual(await repo.listSnapshotIds(), expected.snapshots.map((s) => s.id).sort());
  for (const want of expected.snapshots) {
    const snap = await repo.loadSnapshot(want.id);
    assert.equal(snap.time, want.time);
    assert.equal(snap.host, want.host);
    assert.deepEqual(snap.tags, want.tags);
    assert.deepEqual(snap.paths, want.paths);
    const root = want.paths[0]!;

    // The stored tree: exact nanosecond mtimes, name bytes, and a multi-chunk file.
    const nodes = new Map<string, { mtimeNs: bigint; content?: string[] }>();
    for await (const e of ls(repo, want.id, root)) {
      const rel = e.pathBytes.subarray(Buffer.byteLength(root) + 1);
      if (rel.length > 0) nodes.set(rel.toString("base64"), e.node);
    }
    assert.deepEqual([...nodes.keys()].sort(), want.entries.map((e) => e.pathB64).sort());
    for (const e of want.entries) {
      assert.equal(String(nodes.get(e.pathB64)?.mtimeNs), e.mtimeNs, `${e.path}: stored mtime`);
    }
    const big = nodes.get(Buffer.from("sub/big.bin").toString("base64"));
    assert.ok((big?.content?.length ?? 0) >= 2, "sub/big.bin should have at least 2 chunks");

    // Restored files: content, mode, symlink target, names, mtime (µs), xattrs.
    const target = join(base, `restore-${want.id.slice(0, 8)}`);
    const r = await restore(repo, want.id, { target });
    assert.deepEqual(r.errors, []);
    const got = await describeTree(join(target, root));
    assert.deepEqual(
      got.map((e) => ({ ...e, mtimeNs: e.mtimeNs.slice(0, -3) })),
      want.entries.map((e) => ({ ...e, mtimeNs: e.mtimeNs.slice(0, -3) })),
      `snapshot ${want.id.slice(0, 8)} restored differently`,
    );
  }
});
