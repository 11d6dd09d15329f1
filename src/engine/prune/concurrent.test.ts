// Slow-ish (about a minute): backups in child processes racing forget + prune.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePolicy } from "../../retention/index.ts";
import { LocalStorage } from "../../storage/local.ts";
import { check } from "../check/index.ts";
import { forgetByPolicy } from "./forget.ts";
import { prune } from "./prune.ts";
import { Repository } from "../repository/index.ts";
import { restore } from "../restore/index.ts";
import { startBackupChild } from "../testing/backup-child.ts";
import { TEST_KDF } from "../testing/fixtures.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function content(i: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let o = 0; o < size; o += 32)
    createHash("sha256").update(`file ${i} ${o}`).digest().copy(out, o);
  return out;
}

function readTree(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) readTree(p, base, out);
    else out.set(p.slice(base.length), createHash("sha256").update(readFileSync(p)).digest("hex"));
  }
  return out;
}

test("prune is safe while backups run concurrently (child processes), then everything restores (slow)", async () => {
  const work = mkdtempSync(join(tmpdir(), "coffer-prune-race-"));
  try {
    const repoDir = join(work, "repo");
    const src = join(work, "src");
    mkdirSync(src);
    await Repository.init(new LocalStorage(repoDir), "pw", {
      hostname: "h",
      username: "u",
      kdf: TEST_KDF,
      packSize: 512 * 1024,
    });
    const expected = new Map<string, Map<string, string>>();
    const GRACE = 4000;
    let deleted = 0;
    let rescued = 0;
    let next = 0;
    for (let round = 0; round < 6; round++) {
      // Change the tree: three new files, drop the oldest ones.
      for (let k = 0; k < 3; k++, next++)
        writeFileSync(join(src, `f${next}.bin`), content(next, 200_000 + next * 1000));
      for (const f of readdirSync(src))
        if (Number(f.slice(1, -4)) < next - 7) unlinkSync(join(src, f));
      const state = readTree(src);
      const child = startBackupChild({
        repo: repoDir,
        password: "pw",
        paths: [src],
        host: "h",
        workers: 1,
      });
      let running = true;
      const exited = child.exited.then((r) => {
        running = false;
        return r;
      });
      // Meanwhile: forget (keep the newest 2) and prune, again and again.
      while (running) {
        const repo = await Repository.open(new LocalStorage(repoDir), "pw");
        await forgetByPolicy(repo, parsePolicy({ keepLast: 2 }), { now: Date.now() });
        const r = await prune(repo, { graceMs: GRACE });
        deleted += r.deletedPacks.length;
        rescued += r.rescued.length;
        await sleep(150);
      }
      const res = await exited;
      assert.equal(res.code, 0, res.stderr);
      for (const id of child.snapshots) expected.set(id, state);
    }
    // Forget once more (the last backup finished after the last forget), let every plan
    // mature and run prune to completion.
    await forgetByPolicy(
      await Repository.open(new LocalStorage(repoDir), "pw"),
      parsePolicy({ keepLast: 2 }),
      { now: Date.now() },
    );
    await sleep(GRACE + 200);
    for (let i = 0; i < 2; i++) {
      const repo = await Repository.open(new LocalStorage(repoDir), "pw");
      const r = await prune(repo, { graceMs: GRACE });
      deleted += r.deletedPacks.length;
      await sleep(GRACE + 200);
    }
    assert.ok(deleted > 0, "prune deleted nothing");
    const repo = await Repository.open(new LocalStorage(repoDir), "pw");
    const report = await check(repo, { readData: true });
    assert.deepEqual(
      report.problems.filter((p) => p.severity === "error"),
      [],
    );
    const remaining = await repo.listSnapshotIds();
    assert.equal(remaining.length, 2);
    for (const id of remaining) {
      const out = join(work, `restore-${id.slice(0, 8)}`);
      const r = await restore(repo, id, { target: out });
      assert.deepEqual(r.errors, []);
      const got = readTree(join(out, src));
      assert.deepEqual(got, expected.get(id));
    }
    // Nothing unreferenced is left once the plans ran (only the two snapshots' packs).
    const final = await prune(repo, { graceMs: GRACE, dryRun: true });
    assert.equal(final.totalPacks, final.referencedPacks);
    process.stderr.write(
      `prune race: deleted ${deleted} packs, rescued ${rescued}, ${final.totalPacks} packs left\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("prune --max-unused 0 --repack-small is safe while backups run concurrently, then everything restores (slow)", async () => {
  const work = mkdtempSync(join(tmpdir(), "coffer-repack-race-"));
  try {
    const repoDir = join(work, "repo");
    const src = join(work, "src");
    mkdirSync(src);
    await Repository.init(new LocalStorage(repoDir), "pw", {
      hostname: "h",
      username: "u",
      kdf: TEST_KDF,
      packSize: 256 * 1024,
      chunker: { min: 16 * 1024, avg: 32 * 1024, max: 128 * 1024 },
    });
    const expected = new Map<string, Map<string, string>>();
    const GRACE = 4000;
    const opts = {
      graceMs: GRACE,
      maxUnused: { kind: "percent", value: 0 },
      repackSmall: true,
    } as const;
    let deleted = 0;
    let repacked = 0;
    let manifests = 0;
    let next = 0;
    for (let round = 0; round < 5; round++) {
      // Files change in place (partly), appear and go: packs end up partly used.
      for (let k = 0; k < 3; k++, next++)
        writeFileSync(join(src, `f${next}.bin`), content(next, 150_000 + next * 1000));
      for (const f of readdirSync(src))
        if (Number(f.slice(1, -4)) < next - 6) unlinkSync(join(src, f));
      const state = readTree(src);
      const child = startBackupChild({
        repo: repoDir,
        password: "pw",
        paths: [src],
        host: "h",
        workers: 1,
      });
      let running = true;
      const exited = child.exited.then((r) => {
        running = false;
        return r;
      });
      while (running) {
        const repo = await Repository.open(new LocalStorage(repoDir), "pw");
        await forgetByPolicy(repo, parsePolicy({ keepLast: 2 }), { now: Date.now() });
        const r = await prune(repo, opts);
        deleted += r.deletedPacks.length;
        repacked += r.repacked.packs;
        manifests += r.manifestsRewritten;
        await sleep(100);
      }
      const res = await exited;
      assert.equal(res.code, 0, res.stderr);
      for (const id of child.snapshots) expected.set(id, state);
    }
    await forgetByPolicy(
      await Repository.open(new LocalStorage(repoDir), "pw"),
      parsePolicy({ keepLast: 2 }),
      { now: Date.now() },
    );
    // Let every plan mature and prune to completion (a repack's plan needs one more round).
    for (let i = 0; i < 3; i++) {
      const repo = await Repository.open(new LocalStorage(repoDir), "pw");
      const r = await prune(repo, opts);
      deleted += r.deletedPacks.length;
      repacked += r.repacked.packs;
      await sleep(GRACE + 200);
    }
    const last = await prune(await Repository.open(new LocalStorage(repoDir), "pw"), opts);
    deleted += last.deletedPacks.length;
    assert.ok(repacked > 0, "prune repacked nothing");
    assert.ok(deleted > 0, "prune deleted nothing");
    const repo = await Repository.open(new LocalStorage(repoDir), "pw");
    const report = await check(repo, { readData: true });
    assert.deepEqual(
      report.problems.filter((p) => p.severity === "error"),
      [],
    );
    const remaining = await repo.listSnapshotIds();
    assert.equal(remaining.length, 2);
    for (const id of remaining) {
      const out = join(work, `restore-${id.slice(0, 8)}`);
      const r = await restore(repo, id, { target: out });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(readTree(join(out, src)), expected.get(id));
    }
    const final = await prune(repo, { ...opts, dryRun: true });
    assert.equal(final.unusedBytes, 0, "nothing unused is left");
    process.stderr.write(
      `repack race: repacked ${repacked} packs, rewrote ${manifests} manifests, deleted ${deleted} packs, ${final.totalPacks} packs left\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
