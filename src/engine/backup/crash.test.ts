import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { compareTrees, formatDifferences, pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { LocalStorage } from "../../storage/local.ts";
import { backup } from "./backup.ts";
import { backupCommand } from "./stream.ts";
import { check } from "../check/index.ts";
import { Repository } from "../repository/index.ts";
import { restore } from "../restore/index.ts";
import { type BackupChild, startBackupChild } from "../testing/backup-child.ts";
import { TEST_KDF } from "../testing/fixtures.ts";

// Slow integration test: real child processes, SIGKILLed at random points of their backups.

const PASSWORD = "crash-test-password";
/** Small packs and chunks so a few MB of new data make several packs per backup. */
const SMALL = {
  packSize: 256 * 1024,
  chunker: { min: 64 * 1024, avg: 128 * 1024, max: 512 * 1024 },
};
const ITERATIONS = Number(process.env.COFFER_CRASH_ITERATIONS ?? 25);
const CLI_ITERATIONS = Number(process.env.COFFER_CRASH_CLI_ITERATIONS ?? 8);
const SEED = Number(process.env.COFFER_CRASH_SEED ?? Date.now() % 2 ** 31);

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "coffer-crash-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Seeded PRNG (mulberry32), so a failing run can be replayed with COFFER_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Milliseconds between a child's `ready` and `done` lines. */
function spanOf(c: BackupChild): number {
  const at = (l: string): number => c.lineTimes[c.lines.indexOf(l)] ?? NaN;
  return at("done") - at("ready");
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function initRepo(path: string): Promise<void> {
  await Repository.init(new LocalStorage(path), PASSWORD, {
    hostname: "crash",
    username: "tester",
    kdf: TEST_KDF,
    ...SMALL,
  });
}

const openRepo = (path: string): Promise<Repository> =>
  Repository.open(new LocalStorage(path), PASSWORD);

/** check() must be ok: unreferenced packs (info) and manifest-less snapshots (warning) are fine. */
async function assertCheckOk(repo: Repository, what: string, readData = false): Promise<void> {
  const report = await check(repo, { readData });
  const errors = report.problems.filter((p) => p.severity === "error");
  assert.ok(
    report.ok && errors.length === 0,
    `${what}: check failed (seed ${SEED}):\n${errors.map((e) => `${e.object}: ${e.message}`).join("\n")}`,
  );
}

/**
 * The tree: 10 directories of 20 small files (0.5-6 KiB), two multi-MB files, an empty file
 * and a symlink. About 4.5 MB.
 */
async function buildTree(root: string, rnd: () => number): Promise<void> {
  for (let d = 0; d < 10; d++) {
    await mkdir(join(root, `dir${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) {
      const size = 512 + Math.floor(rnd() * 6 * 1024);
      await writeFile(join(root, `dir${d}`, `f${f}`), pseudoRandomBytes(size, d * 100 + f + 1));
    }
  }
  await writeFile(join(root, "big1.bin"), pseudoRandomBytes(2560 * 1024, 4242));
  await writeFile(join(root, "big2.bin"), pseudoRandomBytes(1536 * 1024, 4343));
  await writeFile(join(root, "empty"), "");
  await symlink("dir0/f0", join(root, "link"));
}

/** Rewrites a few small files, deletes one, adds new ones and replaces big2 (~2 MB new data). */
async function mutateTree(root: string, iteration: number, rnd: () => number): Promise<void> {
  const seed = 10_000 + iteration * 50;
  for (let i = 0; i < 4; i++) {
    const p = join(root, `dir${Math.floor(rnd() * 10)}`, `f${Math.floor(rnd() * 20)}`);
    await writeFile(p, pseudoRandomBytes(512 + Math.floor(rnd() * 6 * 1024), seed + i));
  }
  await unlink(join(root, `dir${iteration % 10}`, `f${19 - (iteration % 20)}`)).catch(
    () => undefined,
  );
  await mkdir(join(root, "new"), { recursive: true });
  for (let i = 0; i < 5; i++)
    await writeFile(
      join(root, "new", `i${iteration}-${i}`),
      pseudoRandomBytes(40 * 1024, seed + 10 + i),
    );
  await writeFile(join(root, "big2.bin"), pseudoRandomBytes(1536 * 1024, seed + 20));
}

/** Restores `id` and compares the tree at `treePath` inside it with `expected`. */
async function assertRestores(
  repo: Repository,
  id: string,
  treePath: string,
  expected: string,
  scratch: string,
): Promise<void> {
  const target = join(scratch, `restore-${id.slice(0, 12)}`);
  const r = await restore(repo, id, { target });
  assert.deepEqual(r.errors, [], `restore of ${id.slice(0, 8)} reported errors (seed ${SEED})`);
  const diffs = await compareTrees(expected, join(target, treePath));
  assert.equal(
    diffs.length,
    0,
    `snapshot ${id.slice(0, 8)} (seed ${SEED}):\n${formatDifferences(diffs)}`,
  );
  await rm(target, { recursive: true, force: true });
}

test(
  "backup killed with SIGKILL at any moment leaves a repository check passes (slow integration)",
  { timeout: 900_000 },
  async (t) => {
    const base = await tmp();
    const repoPath = join(base, "repo");
    const tree = join(base, "tree");
    const states = join(base, "states");
    await mkdir(states);
    await initRepo(repoPath);
    const rnd = prng(SEED);
    await buildTree(tree, rnd);

    /** snapshot ID → a `cp -a` copy of the tree as it was while that snapshot was taken. */
    const expectedOf = new Map<string, string>();
    let stateNo = 0;
    const freezeState = (): string => {
      const dir = join(states, String(stateNo++));
      execFileSync("cp", ["-a", tree, dir]);
      return dir;
    };
    const adopt = async (state: string): Promise<string[]> => {
      const repo = await openRepo(repoPath);
      const fresh = (await repo.listSnapshotIds()).filter((id) => !expectedOf.has(id));
      for (const id of fresh) expectedOf.set(id, state);
      return fresh;
    };

    // Calibration: a first full backup, then one uninterrupted incremental one of the same size
    // as each iteration's (the tree is mutated first).
    let state = freezeState();
    const first = startBackupChild({ repo: repoPath, password: PASSWORD, paths: [tree] });
    assert.equal((await first.exited).code, 0, (await first.exited).stderr);
    await adopt(state);
    await mutateTree(tree, 0, rnd);
    state = freezeState();
    const t0 = Date.now();
    const calib = startBackupChild({ repo: repoPath, password: PASSWORD, paths: [tree] });
    await calib.waitForLine("ready");
    const startup = Date.now() - t0;
    await calib.waitForLine("done");
    /** ready → done times of children that were not killed (the kill window adapts to them). */
    const observed = [spanOf(calib)];
    assert.equal((await calib.exited).code, 0, (await calib.exited).stderr);
    await adopt(state);
    t.diagnostic(`seed ${SEED}; child startup ${startup} ms, incremental backup ${observed[0]} ms`);
    /** Median of the last 5 observations: tracks the machine's current load. */
    const duration = (): number => {
      const recent = observed.slice(-5).sort((a, b) => a - b);
      return recent[recent.length >> 1]!;
    };

    let midBackupKills = 0;
    let committedBeforeKill = 0;
    for (let i = 1; i <= ITERATIONS; i++) {
      await mutateTree(tree, i, rnd);
      state = freezeState();
      const child = startBackupChild({ repo: repoPath, password: PASSWORD, paths: [tree] });
      // Stratified delays: iteration i kills in the i-th slice of [0, 1.1 × duration] after the
      // repository is open; the first two kill during start-up (before the index is loaded).
      const slice = (i - 1) / ITERATIONS;
      if (i <= 2) {
        await sleep(rnd() * startup);
      } else {
        await child.waitForLine("ready").catch(() => undefined);
        await sleep((slice + rnd() / ITERATIONS) * duration() * 1.05);
      }
      const wasRunning = child.lines.includes("ready") && !child.lines.includes("done");
      child.kill();
      const exit = await child.exited;
      if (exit.signal === "SIGKILL" && wasRunning) midBackupKills++;
      if (exit.signal !== "SIGKILL") {
        assert.equal(exit.code, 0, exit.stderr);
        observed.push(spanOf(child));
      }

      const repo = await openRepo(repoPath);
      await assertCheckOk(repo, `iteration ${i} after kill`, i % 8 === 0);
      const fresh = await adopt(state);
      // Every snapshot the child reported is durable.
      for (const id of child.snapshots) assert.ok(expectedOf.has(id), `reported ${id} is missing`);
      if (fresh.length > 0) {
        committedBeforeKill++;
        await assertRestores(repo, fresh[fresh.length - 1]!, tree, state, base);
      }

      // The next uninterrupted backup succeeds and restores.
      // Same work as the killed child's backup (its packs are unreferenced, so rewritten):
      // its duration calibrates the next kill window.
      const nextRepo = await openRepo(repoPath);
      await nextRepo.loadIndex();
      const tNext = Date.now();
      const next = await backup(nextRepo, { paths: [tree] });
      observed.push(Date.now() - tNext);
      await adopt(state);
      assert.equal(expectedOf.get(next.snapshotId), state);
      await assertCheckOk(await openRepo(repoPath), `iteration ${i} after next backup`);
      await assertRestores(await openRepo(repoPath), next.snapshotId, tree, state, base);
    }
    t.diagnostic(
      `${ITERATIONS} kills, ${midBackupKills} while a backup ran (window now ${duration()} ms), ${committedBeforeKill} ` +
        `committed a snapshot before dying; ${expectedOf.size} snapshots`,
    );

    const repo = await openRepo(repoPath);
    await assertCheckOk(repo, "final", true);
    assert.equal((await repo.listSnapshotIds()).length, expectedOf.size);
    for (const [id, expected] of expectedOf) await assertRestores(repo, id, tree, expected, base);
  },
);

const cliEntry = fileURLToPath(new URL("../../cli/entry.ts", import.meta.url));

test(
  "coffer backup --stdin-from-command killed mid-stream leaves a repository check passes (slow integration)",
  { timeout: 600_000 },
  async (t) => {
    const base = await tmp();
    const repoPath = join(base, "repo");
    await initRepo(repoPath);
    const rnd = prng(SEED + 1);
    const files = new Map<string, string>(); // snapshot ID → expected dump file

    // Each dump shares its first half with the previous one (dedup) and has 1 MiB of new data.
    const makeDump = async (i: number): Promise<string> => {
      const p = join(base, `dump${i}.bin`);
      await writeFile(
        p,
        Buffer.concat([
          pseudoRandomBytes(1024 * 1024, 77),
          pseudoRandomBytes(1024 * 1024, 500 + i),
        ]),
      );
      return p;
    };
    // Streams the file in 128 KiB pieces with pauses, so the kill lands mid-stream.
    const slowCat = (file: string): string[] => [
      "-c",
      'i=0; while [ $i -lt 16 ]; do dd if="$1" bs=131072 skip=$i count=1 status=none; i=$((i+1)); sleep 0.02; done',
      "slowcat",
      file,
    ];
    const runCli = (
      file: string,
    ): {
      exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
      kill: () => void;
    } => {
      const proc = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          cliEntry,
          "backup",
          "--stdin-from-command",
          "--stdin-filename",
          "dump.bin",
          "--",
          "sh",
          ...slowCat(file),
        ],
        {
          env: { ...process.env, COFFER_REPOSITORY: repoPath, COFFER_PASSWORD: PASSWORD },
          stdio: ["ignore", "ignore", "pipe"],
          detached: true,
        },
      );
      let stderr = "";
      proc.stderr.setEncoding("utf8");
      proc.stderr.on("data", (s: string) => {
        stderr += s;
      });
      return {
        exited: new Promise((resolve) => {
          proc.on("close", (code, signal) => {
            resolve({ code, signal, stderr });
          });
        }),
        kill: () => {
          try {
            // The whole group: coffer and the sh/dd it runs.
            if (proc.pid !== undefined) process.kill(-proc.pid, "SIGKILL");
          } catch {
            // already gone
          }
        },
      };
    };
    const adopt = async (file: string): Promise<string[]> => {
      const fresh = (await (await openRepo(repoPath)).listSnapshotIds()).filter(
        (id) => !files.has(id),
      );
      for (const id of fresh) files.set(id, file);
      return fresh;
    };
    const assertDump = async (repo: Repository, id: string, file: string): Promise<void> => {
      const target = join(base, `r-${id.slice(0, 12)}`);
      const r = await restore(repo, id, { target });
      assert.deepEqual(r.errors, []);
      assert.ok(
        (await readFile(join(target, "dump.bin"))).equals(await readFile(file)),
        `dump of ${id.slice(0, 8)} differs`,
      );
      await rm(target, { recursive: true, force: true });
    };

    const calibFile = await makeDump(0);
    const t0 = Date.now();
    const calib = runCli(calibFile);
    const c = await calib.exited;
    assert.equal(c.code, 0, c.stderr);
    const duration = Date.now() - t0;
    await adopt(calibFile);
    t.diagnostic(`seed ${SEED + 1}; uninterrupted coffer --stdin-from-command run ${duration} ms`);

    let killed = 0;
    for (let i = 1; i <= CLI_ITERATIONS; i++) {
      const file = await makeDump(i);
      const run = runCli(file);
      await sleep(((i - 1 + rnd()) / CLI_ITERATIONS) * duration * 1.05);
      run.kill();
      const exit = await run.exited;
      if (exit.signal === "SIGKILL") killed++;
      else assert.equal(exit.code, 0, exit.stderr);
      const repo = await openRepo(repoPath);
      await assertCheckOk(repo, `cli iteration ${i} after kill`);
      const fresh = await adopt(file);
      for (const id of fresh) await assertDump(repo, id, file);
      const next = await backupCommand(await openRepo(repoPath), {
        command: "sh",
        args: slowCat(file),
        filename: "dump.bin",
      });
      await adopt(file);
      await assertDump(await openRepo(repoPath), next.snapshotId, file);
    }
    t.diagnostic(`${killed} of ${CLI_ITERATIONS} runs killed; ${files.size} snapshots`);
    const repo = await openRepo(repoPath);
    await assertCheckOk(repo, "cli final", true);
    for (const [id, file] of files) await assertDump(repo, id, file);
  },
);
