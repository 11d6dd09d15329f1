// borg driver for scripts/bench.mjs: the same steps as coffer and restic, with borg 1.2
// from Debian's `borgbackup` package.
//
// Settings, and why:
// - `--encryption repokey` (AES-256-CTR + HMAC-SHA256, chunk IDs HMAC-SHA256), not
//   `repokey-blake2`: coffer's blob IDs are HMAC-SHA256 too, and on CPUs with SHA
//   extensions (this box has sha_ni) borg's docs recommend the SHA-256 modes as the faster
//   ones. Measured here at scale 0.1 (182 MiB): 1.24–1.29 s user for repokey vs 1.46–1.57 s
//   for repokey-blake2, three runs each.
// - `--compression zstd,2`: the exact level coffer uses (src/format/compress.ts); borg
//   accepts zstd levels 1–22.
// - borg's default chunker (buzhash 19,23,21,4095: 512 KiB min, 2 MiB average, 8 MiB max);
//   coffer and restic average 1 MiB. We measure each tool as its users get it.
// - The unchanged re-run uses borg's files cache (ctime, size, inode), as restic uses its
//   parent snapshot; `forget + prune` is `borg prune --keep-last 1` then
//   `borg compact --threshold 0` (reclaim all unused space, like `--max-unused 0`).
// - BORG_BASE_DIR (config, keys, security) and BORG_CACHE_DIR live in the bench work dir
//   and are wiped with the repository, so every run starts clean and touches nothing in $HOME.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** Installs borgbackup from Debian's packages when `borg` is missing. */
export function ensureBorg(sh) {
  if (spawnSync("borg", ["--version"]).status !== 0) {
    console.log("installing borgbackup from Debian's packages…");
    sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q borgbackup");
  }
}

/** `borg 1.2.4`, for the results header. */
export function borgVersion() {
  return spawnSync("borg", ["--version"], { encoding: "utf8" }).stdout.trim();
}

/**
 * The borg tool for bench.mjs: `{ work, corpus, password }` in, a driver whose methods
 * return argv arrays (see the coffer and restic drivers there). Archives are named
 * `bench-1`, `bench-2`, … in backup order; restore extracts the newest into the current
 * directory (bench.mjs runs each restore with the target as cwd).
 */
export function borgTool({ work, corpus, password }) {
  const repo = join(work, "borg-repo");
  const base = join(work, "borg-home");
  const cache = join(work, "borg-cache");
  let archives = 0;
  const archive = () => `${repo}::bench-${String(archives)}`;
  return {
    name: "borg",
    repo,
    scratch: [base, cache],
    // borg exits 1 on warnings (e.g. a file changed while it was read): bench.mjs counts
    // the step and prints borg's message; 2 and above are errors.
    okCodes: [0, 1],
    env: {
      BORG_PASSPHRASE: password,
      BORG_BASE_DIR: base,
      BORG_CACHE_DIR: cache,
      // Never prompt: a bench run has no one to answer (the repository is always ours).
      BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes",
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "yes",
    },
    init() {
      archives = 0;
      return ["borg", "init", "--encryption", "repokey", repo];
    },
    backup() {
      archives += 1;
      return ["borg", "create", "--compression", "zstd,2", archive(), corpus];
    },
    restore() {
      return ["borg", "extract", archive()];
    },
    check() {
      return ["borg", "check", "--verify-data", repo];
    },
    forget() {
      return ["borg", "prune", "--keep-last", "1", repo];
    },
    prune() {
      return [["borg", "compact", "--threshold", "0", repo]];
    },
  };
}
