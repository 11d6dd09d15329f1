#!/usr/bin/env node
// Side-by-side benchmark: coffer vs restic and borg (Debian packages) on
// ../shared/bench/make-corpus.mjs, in one run on the same corpus.
//
//   npm run bench                       full corpus (scale 1, ~1.6 GiB)
//   npm run bench -- --scale 0.25       smaller corpus
//   npm run bench -- --record           also append the results to docs/benchmarks.md
//
//   npm run bench -- --dir /some/dir    work directory (default .bench/)
//
// Steps, each run for every tool in turn on the same data: first backup, unchanged re-run,
// re-run after --mutate, full restore, check --read-data, then forget --keep-last 1 and
// prune --max-unused 0 (coffer's two phases run back to back with --grace 0s; borg's are
// prune --keep-last 1 and compact --threshold 0, see scripts/bench-borg.mjs). Peak RSS comes
// from getrusage(RUSAGE_CHILDREN) via a tiny python wrapper, repository size from a walk.
import { spawnSync, execSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  rmSync,
  readdirSync,
  lstatSync,
  appendFileSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { borgTool, borgVersion, ensureBorg } from "./bench-borg.mjs";
import { benchMarkdown } from "./bench-table.mjs";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const scale = Number(opt("--scale", process.env.BENCH_SCALE ?? "1"));
const record = args.includes("--record");
const work = resolve(opt("--dir", join(root, ".bench")));
const corpus = join(work, `corpus-${scale}`);
const makeCorpus = resolve(root, "../shared/bench/make-corpus.mjs");
const password = "bench-password";

function sh(cmd, env = {}) {
  return execSync(cmd, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  }).toString();
}
if (spawnSync("restic", ["version"]).status !== 0) {
  console.log("installing restic from Debian's packages…");
  sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q restic");
}
ensureBorg(sh);
// Always measure the current sources: rebuild dist/ (the CLI runs from it).
execSync("npm run build", { cwd: root, stdio: ["ignore", "ignore", "inherit"] });

// Runs argv (in cwd, when given), returns { seconds, rssMiB } using getrusage of the
// children. Exit codes outside okCodes throw; a non-zero one inside prints the tool's message.
const WRAP = `
import resource, subprocess, sys, time, os
t = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.buffer.write(p.stderr[-2000:])
print(f"{dt} {ru.ru_maxrss / 1024} {p.returncode}")
`;
function measure(argv, env, { okCodes = [0, 3], cwd } = {}) {
  const r = spawnSync("python3", ["-c", WRAP, ...argv], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const [secs, rss, code] = r.stdout.trim().split(" ").map(Number);
  if (!okCodes.includes(code)) {
    throw new Error(`${argv.join(" ")} failed with ${code}: ${r.stderr.slice(-1500)}`);
  }
  if (code !== 0) console.log(`${argv.join(" ")} exited ${code}: ${r.stderr.slice(-500)}`);
  return { seconds: secs, rssMiB: rss };
}
function duBytes(p) {
  let n = 0;
  const st = lstatSync(p);
  if (st.isDirectory()) for (const e of readdirSync(p)) n += duBytes(join(p, e));
  else n += st.size;
  return n;
}
function corpusBytes() {
  return duBytes(corpus);
}

const coffer = {
  name: "coffer",
  repo: join(work, "coffer-repo"),
  env: { COFFER_PASSWORD: password },
  init() {
    return [process.execPath, join(root, "bin/coffer.mjs"), "init", "-r", this.repo, "--quiet"];
  },
  backup() {
    return [
      process.execPath,
      join(root, "bin/coffer.mjs"),
      "backup",
      "-r",
      this.repo,
      "--quiet",
      corpus,
    ];
  },
  restore(t) {
    return [
      process.execPath,
      join(root, "bin/coffer.mjs"),
      "restore",
      "-r",
      this.repo,
      "--quiet",
      "latest",
      "--target",
      t,
    ];
  },
  check() {
    return [
      process.execPath,
      join(root, "bin/coffer.mjs"),
      "check",
      "-r",
      this.repo,
      "--quiet",
      "--read-data",
    ];
  },
  forget() {
    return [
      process.execPath,
      join(root, "bin/coffer.mjs"),
      "forget",
      "-r",
      this.repo,
      "--quiet",
      "--keep-last",
      "1",
    ];
  },
  // Two-phase: the first run repacks and plans, the second (grace 0s) deletes.
  prune() {
    const argv = [
      process.execPath,
      join(root, "bin/coffer.mjs"),
      "prune",
      "-r",
      this.repo,
      "--quiet",
      "--max-unused",
      "0",
      "--grace",
      "0s",
    ];
    return [argv, argv];
  },
};
const restic = {
  name: "restic",
  repo: join(work, "restic-repo"),
  env: { RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: join(work, "restic-cache") },
  init() {
    return ["restic", "-r", this.repo, "init", "--quiet"];
  },
  backup() {
    return ["restic", "-r", this.repo, "backup", "--quiet", corpus];
  },
  restore(t) {
    return ["restic", "-r", this.repo, "restore", "--quiet", "latest", "--target", t];
  },
  check() {
    return ["restic", "-r", this.repo, "check", "--quiet", "--read-data"];
  },
  forget() {
    return ["restic", "-r", this.repo, "forget", "--quiet", "--keep-last", "1"];
  },
  prune() {
    return [["restic", "-r", this.repo, "prune", "--quiet", "--max-unused", "0"]];
  },
};
const borg = borgTool({ work, corpus, password });
const tools = [coffer, restic, borg];
// Runs one of a tool's argvs with its environment and accepted exit codes.
const run = (t, argv, cwd) => measure(argv, t.env, { okCodes: t.okCodes, cwd });

mkdirSync(work, { recursive: true });
if (existsSync(corpus)) rmSync(corpus, { recursive: true });
console.log(`generating corpus (scale ${scale}) in ${corpus}…`);
sh(`node ${makeCorpus} ${corpus} --scale ${scale}`);
const size = corpusBytes();
console.log(`corpus: ${(size / 2 ** 20).toFixed(0)} MiB`);
const results = {};
for (const t of tools) {
  rmSync(t.repo, { recursive: true, force: true });
  rmSync(join(work, "restic-cache"), { recursive: true, force: true });
  for (const d of t.scratch ?? []) rmSync(d, { recursive: true, force: true });
  run(t, t.init());
  results[t.name] = {};
}
function step(label, fn) {
  for (const t of tools) {
    const m = fn(t);
    results[t.name][label] = m;
    console.log(
      `${label.padEnd(16)} ${t.name.padEnd(7)} ${m.seconds.toFixed(2)} s  ${m.rssMiB.toFixed(0)} MiB peak`,
    );
  }
}
step("first backup", (t) => run(t, t.backup()));
step("unchanged rerun", (t) => run(t, t.backup()));
sh(`node ${makeCorpus} ${corpus} --scale ${scale} --mutate --round 1`);
step("after mutate", (t) => run(t, t.backup()));
step("full restore", (t) => {
  const target = join(work, `${t.name}-restore`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target); // borg extract restores into its working directory
  const m = run(t, t.restore(target), target);
  rmSync(target, { recursive: true, force: true });
  return m;
});
step("check read-data", (t) => run(t, t.check()));
for (const t of tools) results[t.name].repoBytes = duBytes(t.repo);
// Keep only the snapshot after --mutate, then reclaim everything else (--max-unused 0).
step("forget + prune", (t) => {
  const ms = [run(t, t.forget()), ...t.prune().map((argv) => run(t, argv))];
  return {
    seconds: ms.reduce((n, m) => n + m.seconds, 0),
    rssMiB: Math.max(...ms.map((m) => m.rssMiB)),
  };
});
for (const t of tools) results[t.name].prunedRepoBytes = duBytes(t.repo);

const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
  cwd: root,
  encoding: "utf8",
}).stdout.trim();
const resticVersion = spawnSync("restic", ["version"], { encoding: "utf8" }).stdout.trim();
const date = new Date().toISOString().slice(0, 10);
const md = benchMarkdown({
  header: `### ${date}, commit ${commit}, corpus scale ${scale} (${(size / 2 ** 20).toFixed(0)} MiB), ${resticVersion.split(" compiled")[0]}, ${borgVersion()}`,
  results,
  steps: Object.keys(results.coffer).filter((k) => results.coffer[k].rssMiB !== undefined),
});
console.log(`\n${md}`);
writeFileSync(
  join(work, "results.json"),
  JSON.stringify({ date, commit, scale, size, results }, null, 2),
);
if (record) {
  appendFileSync(join(root, "docs/benchmarks.md"), `\n${md}`);
  console.log("appended to docs/benchmarks.md");
}
