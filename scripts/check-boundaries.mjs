#!/usr/bin/env node
// Fails when client code imports the server: every module outside src/server and
// src/cli/server (the server-only folders, scripts/package-layout.mjs) ships in the client
// package, which must install and run without the server (ADR 0013). Tests may import server
// test harnesses. Run by `npm run lint`.
//   node scripts/check-boundaries.mjs [ROOT]
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { boundaryViolations } from "./package-layout.mjs";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const problems = boundaryViolations(root);
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(
    `check-boundaries: ${String(problems.length)} import(s) cross the client/server boundary`,
  );
  process.exit(1);
}
