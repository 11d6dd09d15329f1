#!/usr/bin/env node
// coffer-server: runs the built CLI from dist/ when present, else the TypeScript sources via tsx.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/server/main.js", import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/server/main.ts", import.meta.url).href);
}
