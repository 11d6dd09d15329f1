#!/usr/bin/env node
// First run on the embedded default: a local repository (default ~/.coffer/repo, or
// COFFER_REPOSITORY) and a backup of a directory (default: this project's src/).
//   npm run quickstart [-- PATH...]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const repo = process.env.COFFER_REPOSITORY || join(homedir(), ".coffer", "repo");
const paths = process.argv.slice(2).length ? process.argv.slice(2) : [join(root, "src")];
const env = { ...process.env, COFFER_REPOSITORY: repo };
if (!env.COFFER_PASSWORD && !env.COFFER_PASSWORD_FILE) {
  const pwFile = join(homedir(), ".coffer", "password");
  if (!existsSync(pwFile)) {
    mkdirSync(join(homedir(), ".coffer"), { recursive: true, mode: 0o700 });
    const { randomBytes } = await import("node:crypto");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(pwFile, randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
    console.log(`generated a password in ${pwFile} (keep a copy off-site!)`);
  }
  env.COFFER_PASSWORD_FILE = pwFile;
}
const coffer = (...a) =>
  spawnSync(process.execPath, [join(root, "bin/coffer.mjs"), ...a], { stdio: "inherit", env });
if (!existsSync(join(repo, "config"))) {
  const r = coffer("init");
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const b = coffer("backup", ...paths);
if (b.status !== 0 && b.status !== 3) process.exit(b.status ?? 1);
coffer("snapshots");
console.log(
  `\nrepository: ${repo}\ntry: COFFER_REPOSITORY=${repo} COFFER_PASSWORD_FILE=${env.COFFER_PASSWORD_FILE} coffer restore latest --target /tmp/restored  (coffer is bin/coffer: export PATH="$PWD/bin:$PATH")`,
);
