#!/usr/bin/env node
// Audit-log overhead: small-object PUT rate through coffer-server with audit on vs off.
//
//   node scripts/bench-audit.mjs [--puts 2000] [--size 4096] [--concurrency 8] [--rounds 3] [--record] [--note TEXT]
//
// Starts the gateway in-process (plain HTTP on 127.0.0.1, LocalStorage in a temp dir), signs
// real SigV4 PUTs of distinct small objects, and alternates audit off/on rounds (interleaved,
// so a noisy shared machine hurts both alike); reports per mode the median wall-clock rate and
// the median process CPU time per PUT (user+system; client signing included, the same in both
// modes), and both ratios. --record appends the result to docs/benchmarks.md.
import { register } from "tsx/esm/api";
import { execSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request, Agent } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

register();
const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const { applyConfigDocument } = await import(join(root, "src/server/config.ts"));
const { startServer } = await import(join(root, "src/server/server.ts"));
const { signRequest } = await import(join(root, "src/sigv4/sign-request.ts"));
const { sha256Hex } = await import(join(root, "src/sigv4/signing.ts"));

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? Number(args[args.indexOf(n) + 1]) : d);
const puts = opt("--puts", 2000);
const size = opt("--size", 4096);
const concurrency = opt("--concurrency", 8);
const rounds = opt("--rounds", 3);

async function run(audit) {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-bench-audit-"));
  const cfg = applyConfigDocument(
    { dataDir, listen: "127.0.0.1:0", http: true, audit: { enabled: audit } },
    "(bench)",
  );
  const s = await startServer(cfg, { writeInfo: false });
  const src = await s.metadata.sources.add(
    {
      name: "bench",
      region: "us-east-1",
      scratchPrefixes: [],
      deletionDelayMs: cfg.minDeletionDelayMs,
    },
    Date.now(),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = randomBytes(size);
  const put = (i) => {
    const path = `/bench/data/${String(i).padStart(8, "0")}-${audit ? "a" : "n"}`;
    const b = Buffer.concat([body, Buffer.from(String(i))]);
    const headers = { host: `127.0.0.1:${s.port}`, "content-length": String(b.length) };
    const signed = signRequest(
      { method: "PUT", path, query: "", headers, payloadHash: sha256Hex(b) },
      src,
      { region: "us-east-1", time: Date.now() },
    );
    return new Promise((ok, fail) => {
      const r = request(
        { host: "127.0.0.1", port: s.port, method: "PUT", path, headers: signed.headers, agent },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? ok() : fail(new Error(`PUT ${path}: HTTP ${res.statusCode}`)),
          );
        },
      );
      r.on("error", fail);
      r.end(b);
    });
  };
  let next = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < puts) await put(next++);
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  const st = s.monitor.audit?.stats;
  agent.destroy();
  await s.close();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    rate: puts / secs,
    cpuMs: (cpu.user + cpu.system) / 1000 / puts,
    perTx: st && st.transactions > 0 ? st.entries / st.transactions : undefined,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const note = args.includes("--note") ? args[args.indexOf("--note") + 1] : "";
await run(false); // warm-up
const on = [];
const off = [];
for (let i = 0; i < rounds; i++) {
  off.push(await run(false));
  on.push(await run(true));
}
const rOff = median(off.map((x) => x.rate));
const rOn = median(on.map((x) => x.rate));
const cOff = median(off.map((x) => x.cpuMs));
const cOn = median(on.map((x) => x.cpuMs));
const ratio = rOn / rOff;
const cpuRatio = cOff / cOn;
const fmt = (x) => x.toFixed(0);
const ms = (x) => x.toFixed(3);
console.log(
  `audit off: ${off.map((x) => fmt(x.rate)).join(", ")} PUT/s (median ${fmt(rOff)}); CPU ${off.map((x) => ms(x.cpuMs)).join(", ")} ms/PUT (median ${ms(cOff)})`,
);
console.log(
  `audit on:  ${on.map((x) => fmt(x.rate)).join(", ")} PUT/s (median ${fmt(rOn)}); CPU ${on.map((x) => ms(x.cpuMs)).join(", ")} ms/PUT (median ${ms(cOn)})`,
);
const perTx = on.map((x) => x.perTx).filter((x) => x !== undefined);
const perTxNote =
  perTx.length > 0
    ? `audit entries per transaction (group commit): ${perTx.map((x) => x.toFixed(2)).join(", ")}`
    : "";
if (perTxNote) console.log(perTxNote);
console.log(
  `ratio on/off: wall ${ratio.toFixed(3)}, CPU (off/on per PUT) ${cpuRatio.toFixed(3)} (target >= 0.9)`,
);
if (args.includes("--record")) {
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: root }).toString().trim();
  } catch {}
  const file = join(root, "docs/benchmarks.md");
  if (!existsSync(file)) writeFileSync(file, "# Benchmarks\n");
  appendFileSync(
    file,
    [
      "",
      `## Audit overhead — ${new Date().toISOString().slice(0, 10)}, commit ${commit}${note ? ` (${note})` : ""}`,
      `\`node scripts/bench-audit.mjs --puts ${puts} --size ${size} --concurrency ${concurrency} --rounds ${rounds}\`, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, shared machine; off/on rounds interleaved.`,
      "",
      "| audit | PUT/s per round | median PUT/s | CPU ms per PUT per round | median CPU ms/PUT |",
      "|---|---|---|---|---|",
      `| off | ${off.map((x) => fmt(x.rate)).join(", ")} | ${fmt(rOff)} | ${off.map((x) => ms(x.cpuMs)).join(", ")} | ${ms(cOff)} |`,
      `| on | ${on.map((x) => fmt(x.rate)).join(", ")} | ${fmt(rOn)} | ${on.map((x) => ms(x.cpuMs)).join(", ")} | ${ms(cOn)} |`,
      "",
      `Ratio on/off: wall **${ratio.toFixed(3)}**, CPU per PUT (off/on) **${cpuRatio.toFixed(3)}** (target ≥ 0.9).${perTxNote ? ` ${perTxNote[0]?.toUpperCase()}${perTxNote.slice(1)}.` : ""}`,
      "",
    ].join("\n"),
  );
  console.log(`recorded in ${file}`);
}
