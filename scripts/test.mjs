#!/usr/bin/env node
// Runs every *.test.ts under src/ and *.test.mjs under scripts/ with node's built-in test
// runner (via tsx).
//   node scripts/test.mjs                 all tests
//   node scripts/test.mjs src/format      tests under a folder (or single files)
// Extra node --test flags can follow `--`, e.g. `-- --test-name-pattern=chunk`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const argv = process.argv.slice(2);
const dash = argv.indexOf("--");
const roots = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];

function walk(p, out) {
  const st = statSync(p);
  if (st.isFile()) {
    if (p.endsWith(".test.ts") || p.endsWith(".test.mjs")) out.push(p);
    return out;
  }
  for (const e of readdirSync(p).sort()) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    walk(join(p, e), out);
  }
  return out;
}
const files = (roots.length ? roots : ["src", "scripts"]).flatMap((r) => walk(r, []));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
// The AWS SDK's Node-version notice would otherwise be printed once per test process that
// builds an S3 client (the binaries turn it off the same way: src/cli/quiet-sdk.ts).
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...process.env };
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, ...extra, ...files],
  { stdio: "inherit", env },
);
process.exit(r.status ?? 1);
