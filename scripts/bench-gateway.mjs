#!/usr/bin/env node
// coffer-server gateway benchmark (issue 3), on loopback plain HTTP:
//  1. a first `coffer backup` of the shared corpus through the gateway, as a ratio to the same
//     backup into a local directory (target ≥ 0.8×); runs alternate local/gateway `--rounds`
//     times and the medians are compared;
//  2. small-object PUT and GET rates and latencies (4 KiB objects, 32 concurrent clients, AWS
//     SDK v3 in a separate process: scripts/bench-gateway-load.mjs).
//
//   node scripts/bench-gateway.mjs [--scale 0.25] [--rounds 2] [--objects 3000] [--record]
//                                  [--dir WORK] [--commit LABEL]
// --record appends the results to docs/benchmarks.md with the date and commit. CPU seconds
// (user+system) of the coffer client and of the coffer-server process are reported too: on a
// shared machine they are steadier than wall-clock times.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const scale = Number(opt("--scale", "0.25"));
const rounds = Number(opt("--rounds", "2"));
const objects = Number(opt("--objects", "3000"));
const record = args.includes("--record");
const work = resolve(opt("--dir", join(root, ".bench")));
const corpus = join(work, `corpus-${scale}`);
const password = "bench-password";

// coffer from dist/ when built, else from the sources through tsx (same for both targets).
const cofferArgv = existsSync(join(root, "dist/cli/entry.js"))
  ? [join(root, "dist/cli/entry.js")]
  : ["--import", "tsx", join(root, "src/cli/entry.ts")];
const serverBin = join(root, "bin/coffer-server.mjs");

if (!existsSync(corpus)) {
  console.log(`building corpus (scale ${scale}) in ${corpus}…`);
  mkdirSync(work, { recursive: true });
  execFileSync(
    process.execPath,
    [resolve(root, "../shared/bench/make-corpus.mjs"), corpus, "--scale", String(scale)],
    { stdio: "inherit" },
  );
}
const corpusBytes = Number(
  execFileSync("du", ["-sb", corpus], { encoding: "utf8" }).split("\t")[0],
);

// CPU seconds (user+system): of this process's reaped children (cutime+cstime), so around a
// spawnSync it is the client's; of a live process (utime+stime), for the gateway.
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
function cpuOf(pid, children) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields after ")" start at index 3 (state); utime=14, stime=15, cutime=16, cstime=17 (1-based)
  const at = (n) => Number(f[n - 3]);
  return (children ? at(16) + at(17) : at(14) + at(15)) / TICK;
}
let lastClientCpu = 0;

function coffer(argv, env) {
  const c0 = cpuOf(process.pid, true);
  const t = performance.now();
  const r = spawnSync(process.execPath, [...cofferArgv, ...argv], {
    cwd: root,
    env: { ...process.env, ...env, COFFER_PASSWORD: password },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0 && r.status !== 3)
    throw new Error(`coffer ${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-1500)}`);
  lastClientCpu = cpuOf(process.pid, true) - c0;
  return (performance.now() - t) / 1000;
}

async function startGateway(dataDir) {
  const child = spawn(
    process.execPath,
    [serverBin, "start", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--http"],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (b) => (err += b));
  for (let i = 0; i < 600 && !/listening on (\S+)/.test(err); i++)
    await new Promise((r) => setTimeout(r, 50));
  const endpoint = /listening on (\S+)/.exec(err)?.[1];
  if (endpoint === undefined) throw new Error(`coffer-server did not start: ${err}`);
  return { child, endpoint };
}
function addSource(dataDir, name) {
  return JSON.parse(
    execFileSync(
      process.execPath,
      [serverBin, "source", "add", name, "--data-dir", dataDir, "--json"],
      { cwd: root, encoding: "utf8" },
    ),
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const tmp = mkdtempSync(join(tmpdir(), "coffer-bench-gw-"));
const dataDir = join(tmp, "gateway");
const { child, endpoint } = await startGateway(dataDir);
const results = { local: [], gateway: [] };
const cpu = { local: [], client: [], gateway: [] };
try {
  for (let r = 0; r < rounds; r++) {
    const local = join(tmp, `local-${r}`);
    coffer(["init", "-r", local], {});
    results.local.push(coffer(["backup", "-r", local, corpus], {}));
    cpu.local.push(lastClientCpu);
    rmSync(local, { recursive: true, force: true });
    const src = addSource(dataDir, `bench-${r}`);
    const creds = {
      AWS_ACCESS_KEY_ID: src.accessKeyId,
      AWS_SECRET_ACCESS_KEY: src.secretAccessKey,
    };
    coffer(["init", "-r", src.repository], creds);
    const g0 = cpuOf(child.pid, false);
    results.gateway.push(coffer(["backup", "-r", src.repository, corpus], creds));
    cpu.gateway.push(cpuOf(child.pid, false) - g0);
    cpu.client.push(lastClientCpu);
    console.log(
      `round ${r + 1}: local ${results.local[r].toFixed(1)} s (cpu ${cpu.local[r].toFixed(1)} s), ` +
        `gateway ${results.gateway[r].toFixed(1)} s (client cpu ${cpu.client[r].toFixed(1)} s, ` +
        `gateway cpu ${cpu.gateway[r].toFixed(1)} s)`,
    );
  }
  const load = addSource(dataDir, "load");
  const s0 = cpuOf(child.pid, false);
  const out = execFileSync(
    process.execPath,
    [
      join(root, "scripts/bench-gateway-load.mjs"),
      endpoint,
      load.bucket,
      load.accessKeyId,
      load.secretAccessKey,
      String(objects),
      "4096",
      "32",
      "small",
    ],
    { cwd: root, encoding: "utf8" },
  );
  const small = JSON.parse(out.trim().split("\n").pop());
  const smallCpu = cpuOf(child.pid, false) - s0;
  const lm = median(results.local);
  const gm = median(results.gateway);
  const ratio = lm / gm;
  const mib = corpusBytes / 2 ** 20;
  let commit = opt("--commit", "");
  if (commit === "") {
    try {
      commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      commit = "(not a git checkout)";
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const load1 = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  const md = `
## Gateway (coffer-server) on loopback — ${date}, commit ${commit}
\`node scripts/bench-gateway.mjs --scale ${scale} --rounds ${rounds} --objects ${objects}\`; corpus scale ${scale} (${mib.toFixed(0)} MiB), ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? "?"}), Node ${process.version}, coffer ${cofferArgv.length > 1 ? "via tsx" : "from dist"}; shared machine, load average ${load1} at the end.

| first backup of the corpus | runs (s) | median | MiB/s |
|---|---|---|---|
| into a local directory | ${results.local.map((x) => x.toFixed(1)).join(", ")} | ${lm.toFixed(1)} s | ${(mib / lm).toFixed(0)} |
| through the gateway (s3:http://127.0.0.1) | ${results.gateway.map((x) => x.toFixed(1)).join(", ")} | ${gm.toFixed(1)} s | ${(mib / gm).toFixed(0)} |

Ratio gateway/local throughput: **${ratio.toFixed(2)}×** (target ≥ 0.8×).

| CPU seconds (user+sys), median | local backup (coffer) | gateway backup: coffer client | gateway backup: coffer-server |
|---|---|---|---|
| per run | ${median(cpu.local).toFixed(1)} s | ${median(cpu.client).toFixed(1)} s | ${median(cpu.gateway).toFixed(1)} s |

| 4 KiB objects, 32 concurrent clients (AWS SDK v3, separate process) | requests | rate | p50 | p99 |
|---|---|---|---|---|
| PUT (new keys; body fsynced, linked, ledger row) | ${small.put.n} | ${small.put.rate}/s | ${small.put.p50} ms | ${small.put.p99} ms |
| GET | ${small.get.n} | ${small.get.rate}/s | ${small.get.p50} ms | ${small.get.p99} ms |

coffer-server CPU for the ${small.put.n} PUTs + ${small.get.n} GETs: ${smallCpu.toFixed(1)} s (${((smallCpu * 1e6) / (small.put.n + small.get.n)).toFixed(0)} µs per request).
`;
  console.log(md);
  if (record) appendFileSync(join(root, "docs/benchmarks.md"), md);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(tmp, { recursive: true, force: true });
}
