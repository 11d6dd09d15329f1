#!/usr/bin/env node
// Cost of one `coffer backup` of an unchanged small tree against a repository that holds many
// index objects (a year of daily backups leaves ~400), with and without the local index cache
// (ADR 0012), through a real coffer-server process on loopback.
//
//   node --import tsx scripts/bench-index-cache.mjs [--indexes 400] [--runs 3] [--no-build]
//
// The repository is filled with `--indexes` real index objects, each naming a real pack
// (engine fixture writer; their snapshots and manifests are not written, so the parent search
// sees only the measured tree's snapshots). coffer runs from dist/ (rebuilt first).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFixture } from "../src/engine/check-fixture.ts";
import { Repository } from "../src/engine/repository.ts";
import { S3Storage } from "../src/storage/s3.ts";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const indexes = Number(opt("--indexes", "400"));
const runs = Number(opt("--runs", "3"));
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
    COFFER_CACHE_DIR: join(tmp, "cache"),
  };
  const coffer = (argv) => {
    const c0 = cpuOf(process.pid, true);
    const g0 = cpuOf(child.pid, false);
    const t = performance.now();
    const r = spawnSync(process.execPath, [cofferJs, ...argv, "-r", src.repository], {
      cwd: root,
      env,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`coffer ${argv.join(" ")} failed: ${r.stderr}`);
    return {
      s: (performance.now() - t) / 1000,
      cpu: cpuOf(process.pid, true) - c0,
      gw: cpuOf(child.pid, false) - g0,
    };
  };
  coffer(["init"]);

  // Fill: real packs and index objects, no snapshots/manifests (a proxy drops those writes).
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
          key.startsWith("snapshots/") || key.startsWith("manifests/")
            ? Promise.resolve("created")
            : t.putIfAbsent(key, body);
      const v = Reflect.get(t, p, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const repo = await Repository.open(fill, password);
  const t0 = performance.now();
  for (let i = 0; i < indexes; i++)
    await writeFixture(repo, [{ type: "file", name: `f${i}`, data: Buffer.from(`filler ${i}`) }]);
  await s3.close();
  console.log(`filled ${indexes} index objects in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const tree = join(tmp, "tree");
  mkdirSync(join(tree, "sub"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(tree, "sub", `f${i}.txt`), `file ${i}\n`.repeat(50));
  coffer(["backup", "--no-cache", tree]); // the parent snapshot
  coffer(["backup", tree]); // fills the cache
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const rows = [];
  for (const [label, extra] of [
    ["--no-cache", ["--no-cache"]],
    ["cache (warm)", []],
  ]) {
    const rs = [];
    for (let r = 0; r < runs; r++) rs.push(coffer(["backup", ...extra, tree]));
    rows.push(
      `| ${label} | ${rs.map((x) => x.s.toFixed(2)).join(", ")} | ${med(rs.map((x) => x.s)).toFixed(2)} s | ` +
        `${med(rs.map((x) => x.cpu)).toFixed(2)} s | ${med(rs.map((x) => x.gw)).toFixed(2)} s |`,
    );
  }
  console.log(
    `\nunchanged \`coffer backup\` of a 20-file tree, repository with ${indexes + 3} index objects` +
      ` (coffer from dist, coffer-server on loopback, Node ${process.version})\n\n` +
      `| index cache | runs (s) | median wall | median client CPU | median gateway CPU |\n|---|---|---|---|---|\n` +
      rows.join("\n"),
  );
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(tmp, { recursive: true, force: true });
}
