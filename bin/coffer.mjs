#!/usr/bin/env node
// Runs the built CLI from dist/ when present; otherwise runs the TypeScript sources through tsx.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/entry.js", import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const src = fileURLToPath(new URL("../src/cli/entry.ts", import.meta.url));
  // The child gets the terminal's SIGINT too and commits nothing; wait for it to clean up.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => {});
  // Resolve tsx from this package, not from the caller's working directory.
  const tsx = import.meta.resolve("tsx");
  const r = spawnSync(process.execPath, ["--import", tsx, src, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? (r.signal ? 128 : 1));
}
