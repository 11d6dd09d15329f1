#!/usr/bin/env node
// coffer-server gateway benchmark (issue 3), on loopback plain HTTP:
//  1. a first `coffer backup` of the shared corpus through the gateway, as a ratio to the same
//     backup into a local directory (target ≥ 0.8×); runs alternate local/gateway `--rounds`
//     times and the medians are compared;
//  2. small-object PUT and GET rates and latencies (4 KiB objects, 32 concurrent clients, AWS
//     SDK v3 in a separate process: scripts/bench-gateway-load.mjs).
//
//   node scripts/bench-gateway.mjs [--scale 0.25] [--rounds 2] [--objects 3000] [--record]
// --record appends the results to docs/benchmarks.md with the date and commit.
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

function coffer(argv, env) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [...cofferArgv, ...argv], {
    cwd: root,
    env: { ...process.env, ...env, COFFER_PASSWORD: password },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0 && r.status !== 3)
    throw new Error(`coffer ${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-1500)}`);
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
try {
  for (let r = 0; r < rounds; r++) {
    const local = join(tmp, `local-${r}`);
    coffer(["init", "-r", local], {});
    results.local.push(coffer(["backup", "-r", local, corpus], {}));
    rmSync(local, { recursive: true, force: true });
    const src = addSource(dataDir, `bench-${r}`);
    const creds = {
      AWS_ACCESS_KEY_ID: src.accessKeyId,
      AWS_SECRET_ACCESS_KEY: src.secretAccessKey,
    };
    coffer(["init", "-r", src.repository], creds);
    results.gateway.push(coffer(["backup", "-r", src.repository, corpus], creds));
    console.log(
      `round ${r + 1}: local ${results.local[r].toFixed(1)} s, gateway ${results.gateway[r].toFixed(1)} s`,
    );
  }
  const load = addSource(dataDir, "load");
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
  const lm = median(results.local);
  const gm = median(results.gateway);
  const ratio = lm / gm;
  const mib = corpusBytes / 2 ** 20;
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: root,
    encoding: "utf8",
  }).trim();
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

| 4 KiB objects, 32 concurrent clients (AWS SDK v3, separate process) | requests | rate | p50 | p99 |
|---|---|---|---|---|
| PUT (new keys; body fsynced, linked, ledger row) | ${small.put.n} | ${small.put.rate}/s | ${small.put.p50} ms | ${small.put.p99} ms |
| GET | ${small.get.n} | ${small.get.rate}/s | ${small.get.p50} ms | ${small.get.p99} ms |
`;
  console.log(md);
  if (record) appendFileSync(join(root, "docs/benchmarks.md"), md);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(tmp, { recursive: true, force: true });
}
