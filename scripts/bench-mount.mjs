#!/usr/bin/env node
// Browsing benchmarks (issue 18), side by side in one run on this machine:
// - sequential read of one large file through `coffer mount` (dd, 1 MiB reads) against
//   `coffer restore` and `coffer dump` of it;
// - `find` over a corpus of small files through coffer's, restic's and borg's mounts
//   (first walk after mounting, then again warm);
// - the coffer mount's peak RSS (VmHWM) after both.
// Needs root (mounting, dropping the page cache before each timed read), /dev/fuse, restic
// and borg (scripts/ensure-system-deps.sh); a tool whose mount fails is reported as n/a.
//
//   node scripts/bench-mount.mjs [--size-mib 1024] [--entries 20000]
import { spawn, spawnSync } from "node:child_process";
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const sizeMiB = Number(opt("--size-mib", "1024"));
const entries = Number(opt("--entries", "20000"));
const dir = mkdtempSync(join(tmpdir(), "coffer-bench-mount-"));
const password = "bench-password";
const env = {
  ...process.env,
  COFFER_REPOSITORY: join(dir, "coffer"),
  COFFER_PASSWORD: password,
  RESTIC_REPOSITORY: join(dir, "restic"),
  RESTIC_PASSWORD: password,
  BORG_PASSPHRASE: password,
  BORG_REPO: join(dir, "borg"),
};
const coffer = [
  process.execPath,
  "--import",
  join(root, "node_modules/tsx/dist/loader.mjs"),
  join(root, "src/cli/entry.ts"),
];
const run = (cmd, a, o = {}) => {
  const r = spawnSync(cmd, a, { env, cwd: dir, encoding: "utf8", maxBuffer: 1 << 26, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const seconds = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const dropCaches = () => {
  spawnSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3");
  } catch {
    // not root: timings include the page cache
  }
};
const mounted = (mnt) =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === mnt);
async function until(cond, tries = 600) {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
  return cond();
}

const children = [];
try {
  const src = join(dir, "src");
  mkdirSync(src);
  const big = createWriteStream(join(src, "big.bin"));
  for (let i = 0; i < sizeMiB; i++) if (!big.write(randomBytes(1 << 20))) await once(big, "drain");
  big.end();
  await once(big, "finish");
  const corpus = join(src, "corpus");
  for (let d = 0; d < Math.ceil(entries / 100); d++) {
    mkdirSync(join(corpus, `d${d}`), { recursive: true });
    for (let f = 0; f < 100 && d * 100 + f < entries; f++)
      writeFileSync(join(corpus, `d${d}`, `f${f}`), `${d}/${f}\n`);
  }
  run(coffer[0], [...coffer.slice(1), "init", "-q"]);
  run(coffer[0], [...coffer.slice(1), "backup", "-q", src]);
  run("restic", ["init", "-q"]);
  run("restic", ["backup", "-q", corpus]);
  run("borg", ["init", "-e", "repokey"]);
  run("borg", ["create", "::a", corpus]);
  const mnt = {
    coffer: join(dir, "m-coffer"),
    restic: join(dir, "m-restic"),
    borg: join(dir, "m-borg"),
  };
  for (const m of Object.values(mnt)) mkdirSync(m);
  const cm = spawn(coffer[0], [...coffer.slice(1), "mount", mnt.coffer], { env, stdio: "ignore" });
  children.push(cm);
  children.push(spawn("restic", ["mount", mnt.restic], { env, stdio: "ignore" }));
  spawnSync("borg", ["mount", "::a", mnt.borg], { env });
  for (const m of Object.values(mnt)) await until(() => mounted(m));
  const walk = {
    coffer: join(mnt.coffer, "latest", corpus),
    restic: join(mnt.restic, "snapshots", "latest", corpus),
    borg: join(mnt.borg, corpus),
  };
  const rows = [];
  for (const [tool, path] of Object.entries(walk)) {
    if (!mounted(mnt[tool])) {
      rows.push([tool, "n/a", "n/a"]);
      continue;
    }
    dropCaches();
    const cold = seconds(() => run("find", [path]));
    const warm = seconds(() => run("find", [path]));
    rows.push([tool, `${cold.toFixed(2)} s`, `${warm.toFixed(2)} s`]);
  }
  dropCaches();
  const bigPath = join(mnt.coffer, "latest", src, "big.bin");
  const dd = seconds(() => run("dd", [`if=${bigPath}`, "of=/dev/null", "bs=1M", "status=none"]));
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(cm.pid)}/status`, "utf8"))?.[1];
  dropCaches();
  const restore = seconds(() =>
    run(coffer[0], [
      ...coffer.slice(1),
      "restore",
      "-q",
      "latest",
      "--target",
      join(dir, "out"),
      "--include",
      `${src}/big.bin`,
    ]),
  );
  dropCaches();
  const dump = seconds(() =>
    run("sh", ["-c", `"$0" "$@" > /dev/null`, ...coffer, "dump", "latest", `${src}/big.bin`]),
  );
  console.log(
    `\n${String(entries)} entries, ${String(sizeMiB)} MiB file, load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}\n`,
  );
  console.log("| find over the corpus | first | again |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log("\n| large file | time | MB/s |\n|---|---|---|");
  for (const [what, t] of [
    ["mount (dd bs=1M)", dd],
    ["restore", restore],
    ["dump", dump],
  ])
    console.log(`| ${what} | ${t.toFixed(2)} s | ${((sizeMiB * 1.048576) / t).toFixed(0)} |`);
  console.log(`\nmount vs restore: ${(restore / dd).toFixed(2)}× restore's speed (target ≥ 0.5×)`);
  console.log(
    `coffer mount peak RSS: ${hwm === undefined ? "?" : `${(Number(hwm) / 1024).toFixed(0)} MiB`}`,
  );
} finally {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 2000));
  for (const m of ["m-coffer", "m-restic", "m-borg"])
    if (mounted(join(dir, m))) spawnSync("umount", ["-l", join(dir, m)]);
  rmSync(dir, { recursive: true, force: true });
}
