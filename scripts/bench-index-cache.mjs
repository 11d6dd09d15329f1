#!/usr/bin/env node
// Cost of one `coffer backup` of an unchanged small tree against a repository that holds many
// index objects (a year of daily backups leaves ~400) and ~40 live snapshots, through a real
// coffer-server process on loopback, in three modes (ADR 0012):
//   --no-cache          every index object, every snapshot and the parent's trees fetched;
//   index cache only    coffer as built from `--before` (the commit before snapshots and tree
//                       packs were cached; its sources are exported with git archive and
//                       compiled under the temp dir, the checkout is not touched);
//   full cache          this checkout: index objects, snapshots and tree packs cached.
//
//   node --import tsx scripts/bench-index-cache.mjs [--indexes 400] [--snapshots 40]
//        [--runs 3] [--before 79e757e] [--no-build]
//
// The repository is filled with `--indexes` real index objects, each naming a real pack
// (engine fixture writer); the last `--snapshots` of them also get their snapshot and
// manifest (other host and paths: the parent search loads them, then skips them). GETs per
// backup are counted from the gateway's audit log (GetObject rows, by key prefix).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFixture } from "../src/engine/testing/check-fixture.ts";
import { Repository } from "../src/engine/repository/repository.ts";
import { S3Storage } from "../src/storage/s3.ts";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const indexes = Number(opt("--indexes", "400"));
const snapshots = Number(opt("--snapshots", "40"));
const runs = Number(opt("--runs", "3"));
const before = opt("--before", "79e757e");
const password = "bench-password";
if (!args.includes("--no-build")) execFileSync("npm", ["run", "-s", "build"], { cwd: root });
const cofferJs = join(root, "dist/cli/entry.js");
const serverBin = join(root, "bin/coffer-server.mjs");

const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
function cpuOf(pid, children) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
  const at = (n) => Number(x[n - 3]);
  return (children ? at(16) + at(17) : at(14) + at(15)) / TICK;
}

const tmp = mkdtempSync(join(tmpdir(), "coffer-bench-icache-"));
// The "index cache only" client: the `--before` commit's sources, compiled under tmp.
const old = join(tmp, "before");
mkdirSync(old);
execFileSync("sh", [
  "-c",
  `git -C "${root}" archive ${before} src tsconfig.json tsconfig.build.json package.json | tar -x -C "${old}"`,
]);
symlinkSync(join(root, "node_modules"), join(old, "node_modules"));
execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: old });
const oldCofferJs = join(old, "dist/cli/entry.js");
const dataDir = join(tmp, "gateway");
const child = spawn(
  process.execPath,
  [serverBin, "start", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--http"],
  { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
);
let err = "";
child.stderr.on("data", (b) => (err += b));
try {
  for (let i = 0; i < 600 && !/listening on (\S+)/.test(err); i++)
    await new Promise((r) => setTimeout(r, 50));
  const endpoint = /listening on (\S+)/.exec(err)?.[1];
  if (endpoint === undefined) throw new Error(`coffer-server did not start: ${err}`);
  const src = JSON.parse(
    execFileSync(
      process.execPath,
      [serverBin, "source", "add", "bench", "--data-dir", dataDir, "--json"],
      { cwd: root, encoding: "utf8" },
    ),
  );
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: src.accessKeyId,
    AWS_SECRET_ACCESS_KEY: src.secretAccessKey,
    COFFER_PASSWORD: password,
  };
  const { default: Database } = await import("better-sqlite3");
  const audit = new Database(join(dataDir, "metadata.sqlite"), { readonly: true });
  const lastSeq = () => audit.prepare("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_log").get().n;
  /** GetObject requests since audit row `seq`, by kind. */
  const getsSince = (seq) => {
    const rows = audit
      .prepare("SELECT object_key AS k FROM audit_log WHERE seq > ? AND action = 'GetObject'")
      .all(seq);
    const n = (p) => rows.filter((r) => r.k?.startsWith(p) === true).length;
    return { all: rows.length, index: n("index/"), snapshots: n("snapshots/"), packs: n("data/") };
  };
  const coffer = (argv, o = {}) => {
    const c0 = cpuOf(process.pid, true);
    const g0 = cpuOf(child.pid, false);
    const s0 = lastSeq();
    const t = performance.now();
    const r = spawnSync(process.execPath, [o.js ?? cofferJs, ...argv, "-r", src.repository], {
      cwd: root,
      env: { ...env, COFFER_CACHE_DIR: join(tmp, o.cache ?? "cache") },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`coffer ${argv.join(" ")} failed: ${r.stderr}`);
    return {
      s: (performance.now() - t) / 1000,
      cpu: cpuOf(process.pid, true) - c0,
      gw: cpuOf(child.pid, false) - g0,
      gets: getsSince(s0),
    };
  };
  coffer(["init"]);

  // Fill: real packs and index objects; snapshots/manifests only for the last `snapshots`
  // (a proxy drops the others' writes).
  let keepSnapshots = false;
  const s3 = new S3Storage({
    endpoint,
    bucket: src.bucket,
    credentials: { accessKeyId: src.accessKeyId, secretAccessKey: src.secretAccessKey },
    forcePathStyle: true,
  });
  const fill = new Proxy(s3, {
    get(t, p) {
      if (p === "putIfAbsent")
        return (key, body) =>
          !keepSnapshots && (key.startsWith("snapshots/") || key.startsWith("manifests/"))
            ? Promise.resolve("created")
            : t.putIfAbsent(key, body);
      const v = Reflect.get(t, p, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const repo = await Repository.open(fill, password);
  const t0 = performance.now();
  for (let i = 0; i < indexes; i++) {
    keepSnapshots = i >= indexes - snapshots;
    const time = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
    await writeFixture(repo, [{ type: "file", name: `f${i}`, data: Buffer.from(`filler ${i}`) }], {
      time,
      host: "other-host",
    });
  }
  await s3.close();
  console.log(
    `filled ${indexes} index objects (${snapshots} snapshots) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const tree = join(tmp, "tree");
  mkdirSync(join(tree, "sub"), { recursive: true });
  for (let i = 0; i < 20; i++)
    writeFileSync(join(tree, "sub", `f${i}.txt`), `file ${i}\n`.repeat(50));
  coffer(["backup", "--no-cache", tree]); // the parent snapshot
  const modes = [
    ["`--no-cache`", { extra: ["--no-cache"] }],
    ["index cache only (before)", { js: oldCofferJs, cache: "cache-before" }],
    ["full cache (index, snapshots, tree packs)", { cache: "cache-full" }],
  ];
  for (const [, m] of modes.slice(1)) coffer(["backup", tree], m); // warms each cache
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const rows = [];
  for (const [label, m] of modes) {
    const rs = [];
    // Interleaving is not needed: every run is the same unchanged backup.
    for (let r = 0; r < runs; r++) rs.push(coffer(["backup", ...(m.extra ?? []), tree], m));
    const g = rs.at(-1).gets;
    rows.push(
      `| ${label} | ${rs.map((x) => x.s.toFixed(2)).join(", ")} | ${med(rs.map((x) => x.s)).toFixed(2)} s | ` +
        `${med(rs.map((x) => x.cpu)).toFixed(2)} s | ${med(rs.map((x) => x.gw)).toFixed(2)} s | ` +
        `${g.all} (${g.index} index, ${g.snapshots} snapshots, ${g.packs} pack) |`,
    );
  }
  audit.close();
  console.log(
    `\nunchanged \`coffer backup\` of a 20-file tree, repository with ${indexes + 1} index objects` +
      ` and ${snapshots} other snapshots plus the tree's own (one per measured backup)` +
      ` (coffer from dist, coffer-server on loopback, Node ${process.version})\n\n` +
      `| cache | runs (s) | median wall | median client CPU | median gateway CPU | GETs (last run) |\n|---|---|---|---|---|---|\n` +
      rows.join("\n"),
  );
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(tmp, { recursive: true, force: true });
}
