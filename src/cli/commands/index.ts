import type { Command } from "../command.ts";

/**
 * A `coffer` subcommand as the top-level help lists it. The command's module (options, usage,
 * `run`, and the engine it pulls in) is imported only by {@link CommandEntry.load}, so
 * `coffer version` or `coffer snapshots` do not pay for loading every other command (the S3
 * SDK, the dump drivers, …). `summary` must match the module's own.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every `coffer` subcommand, in help order. */
export const commands: readonly CommandEntry[] = [
  {
    name: "init",
    summary: "create a new repository",
    load: async () => (await import("./init.ts")).initCommand,
  },
  {
    name: "backup",
    summary: "create a new snapshot of files, stdin, or a command's output",
    load: async () => (await import("./backup.ts")).backupCommandSpec,
  },
  {
    name: "snapshots",
    summary: "list snapshots",
    load: async () => (await import("./snapshots.ts")).snapshotsCommand,
  },
  {
    name: "ls",
    summary: "list files in a snapshot",
    load: async () => (await import("./ls.ts")).lsCommand,
  },
  {
    name: "diff",
    summary: "show differences between two snapshots",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  {
    name: "dump",
    summary: "write a file from a snapshot to stdout (a directory as a tar archive)",
    load: async () => (await import("./dump.ts")).dumpCommand,
  },
  {
    name: "restore",
    summary: "restore a snapshot into a directory",
    load: async () => (await import("./restore.ts")).restoreCommand,
  },
  {
    name: "mount",
    summary: "mount the repository read-only through FUSE (snapshots/, latest, hosts/, tags/)",
    load: async () => (await import("./mount.ts")).mountCommand,
  },
  {
    name: "serve",
    summary: "serve the repository read-only over WebDAV (serve webdav)",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "drill",
    summary:
      "restore drill: restore into scratch, verify every file, measure recovery time and point",
    load: async () => (await import("./drill.ts")).drillCommand,
  },
  {
    name: "mirror",
    summary:
      "keep a standby copy identical to the latest snapshot (only changes written, atomic switch)",
    load: async () => (await import("./mirror.ts")).mirrorCommand,
  },
  {
    name: "check",
    summary: "verify the repository's structure, and with --read-data every blob",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  {
    name: "repair",
    summary:
      "rebuild the index from the stored packs, or rewrite damaged snapshots without what is lost",
    load: async () => (await import("./repair.ts")).repairCommand,
  },
  {
    name: "copy",
    summary: "copy snapshots from another repository (--from-repo), uploading only what is missing",
    load: async () => (await import("./copy.ts")).copyCommand,
  },
  {
    name: "forget",
    summary:
      "forget snapshots by ID or by a retention policy (behind a coffer gateway: a delayed, cancellable deletion)",
    load: async () => (await import("./forget.ts")).forgetCommand,
  },
  {
    name: "prune",
    summary:
      "remove data no snapshot references (two-phase: plan now, delete in a later run after --grace)",
    load: async () => (await import("./prune.ts")).pruneCommand,
  },
  {
    name: "unlock",
    summary: "remove stale prune locks (--remove-all: live ones too)",
    load: async () => (await import("./unlock.ts")).unlockCommand,
  },
  {
    name: "cache",
    summary: "list the local caches of remote repositories, --cleanup removes unused ones",
    load: async () => (await import("./cache.ts")).cacheCommand,
  },
  {
    name: "key",
    summary: "manage key files (list, add, remove, passwd) and export the master key",
    load: async () => (await import("./key.ts")).keyCommand,
  },
  {
    name: "db",
    summary: "back up, restore, list and discover PostgreSQL, MySQL/MariaDB and SQLite databases",
    load: async () => (await import("./db.ts")).dbCommand,
  },
  {
    name: "agent",
    summary: "run backup jobs on schedule (run, validate, status, run-now JOB, install)",
    load: async () => (await import("./agent.ts")).agentCommand,
  },
];
