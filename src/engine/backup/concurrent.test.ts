import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { decodeIndex } from "../../format/index-file.ts";
import { parseManifest } from "../../format/manifest.ts";
import { compareTrees, formatDifferences, pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { LocalStorage } from "../../storage/local.ts";
import { check } from "../check/index.ts";
import { collect } from "../../core/parallel.ts";
import { Repository } from "../repository/index.ts";
import { restore } from "../restore/index.ts";
import { startBackupChild } from "../testing/backup-child.ts";
import { TEST_KDF } from "../testing/fixtures.ts";

// Slow integration test: two real backup processes racing on one LocalStorage repository.

const PASSWORD = "concurrent-test-password";
const ROUNDS = 3;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/**
 * Writes round `r`'s files into a tree. `common/` gets the same bytes in both trees (so both
 * processes store the same blobs), `own/` bytes unique to `side`.
 */
async function writeRound(root: string, side: number, r: number): Promise<void> {
  await mkdir(join(root, "common"), { recursive: true });
  await mkdir(join(root, "own"), { recursive: true });
  for (let i = 0; i < 30; i++)
    await writeFile(
      join(root, "common", `r${r}-${i}`),
      pseudoRandomBytes(3000 + i * 100, r * 1000 + i + 1),
    );
  await writeFile(
    join(root, "common", `big-r${r}`),
    pseudoRandomBytes(1536 * 1024, r * 1000 + 999),
  );
  for (let i = 0; i < 20; i++)
    await writeFile(
      join(root, "own", `r${r}-${i}`),
      pseudoRandomBytes(2000 + i * 50, (side + 1) * 100_000 + r * 1000 + i),
    );
  await writeFile(
    join(root, "own", `big-r${r}`),
    pseudoRandomBytes(768 * 1024, (side + 1) * 100_000 + r * 1000 + 999),
  );
}

test(
  "two backup processes into the same repository at once both succeed (slow integration)",
  { timeout: 240_000 },
  async (t) => {
    const base = await mkdtemp(join(tmpdir(), "coffer-concurrent-"));
    dirs.push(base);
    const repoPath = join(base, "repo");
    await Repository.init(new LocalStorage(repoPath), PASSWORD, {
      hostname: "concurrent",
      username: "tester",
      kdf: TEST_KDF,
      packSize: 256 * 1024,
      chunker: { min: 64 * 1024, avg: 128 * 1024, max: 512 * 1024 },
    });
    const trees = [join(base, "tree-a"), join(base, "tree-b")];
    /** snapshot ID → { tree path backed up, copy of the tree as it was }. */
    const expected = new Map<string, { tree: string; copy: string }>();

    for (let r = 0; r < ROUNDS; r++) {
      for (const [side, tree] of trees.entries()) await writeRound(tree, side, r);
      const copies = trees.map((tree, side) => {
        const copy = join(base, `state-${r}-${side}`);
        execFileSync("cp", ["-a", tree, copy]);
        return copy;
      });
      // Both load the index, then start together: neither knows the other's new blobs, so
      // every blob of common/ is written twice, into two different packs.
      const children = trees.map((tree, side) =>
        startBackupChild({
          repo: repoPath,
          password: PASSWORD,
          paths: [tree],
          host: `host-${side}`,
          wait: true,
        }),
      );
      await Promise.all(children.map((c) => c.waitForLine("ready")));
      for (const c of children) c.proc.stdin.end("go\n");
      const exits = await Promise.all(children.map((c) => c.exited));
      for (const [side, e] of exits.entries()) {
        assert.equal(e.code, 0, `round ${r}, process ${side}: ${e.stderr}`);
        const c = children[side]!;
        assert.equal(c.snapshots.length, 1, `round ${r}, process ${side} committed no snapshot`);
        expected.set(c.snapshots[0]!, { tree: trees[side]!, copy: copies[side]! });
      }
    }

    const repo = await Repository.open(new LocalStorage(repoPath), PASSWORD);
    assert.deepEqual((await repo.listSnapshotIds()).sort(), [...expected.keys()].sort());

    // The race really happened: blobs stored in two packs, each named by its writer's index.
    const holders = new Map<string, Set<string>>();
    for (const o of await collect(repo.storage.list("index/"))) {
      const idx = decodeIndex(repo.master, await repo.storage.get(o.key), o.key.slice(6));
      for (const p of idx.packs)
        for (const [id] of p.blobs) {
          const key = `${p.type}:${id}`;
          const set = holders.get(key) ?? new Set<string>();
          set.add(p.id);
          holders.set(key, set);
        }
    }
    const duplicated = [...holders.values()].filter((s) => s.size > 1).length;
    t.diagnostic(`${expected.size} snapshots; ${duplicated} blobs stored in two packs`);
    assert.ok(duplicated > 0, "expected the two processes to store some blobs twice");

    // Each manifest lists the packs its own writer used; check accepts either copy.
    const manifests = await collect(repo.storage.list("manifests/"));
    assert.equal(manifests.length, expected.size);
    for (const m of manifests)
      assert.ok(expected.has(parseManifest(await repo.storage.get(m.key)).snapshot));

    const report = await check(repo, { readData: true });
    const errors = report.problems.filter((p) => p.severity !== "info");
    assert.deepEqual(errors, [], "check --read-data found problems");
    assert.ok(report.ok);
    assert.deepEqual(report.unreferencedPacks, []);
    assert.equal(report.stats.packsRead, report.stats.packs);

    for (const [id, e] of expected) {
      const target = join(base, `restore-${id.slice(0, 12)}`);
      const res = await restore(repo, id, { target });
      assert.deepEqual(res.errors, []);
      const diffs = await compareTrees(e.copy, join(target, e.tree));
      assert.equal(diffs.length, 0, `snapshot ${id.slice(0, 8)}:\n${formatDifferences(diffs)}`);
      await rm(target, { recursive: true, force: true });
    }
  },
);
