import type { Command } from "../command.ts";
import { backupCommandSpec } from "./backup.ts";
import { checkCommand } from "./check.ts";
import { dbCommand } from "./db.ts";
import { diffCommand } from "./diff.ts";
import { dumpCommand } from "./dump.ts";
import { forgetCommand } from "./forget.ts";
import { initCommand } from "./init.ts";
import { keyCommand } from "./key.ts";
import { lsCommand } from "./ls.ts";
import { pruneCommand } from "./prune.ts";
import { restoreCommand } from "./restore.ts";
import { snapshotsCommand } from "./snapshots.ts";

/** Every `coffer` subcommand, in help order. */
export const commands: readonly Command[] = [
  initCommand,
  backupCommandSpec,
  snapshotsCommand,
  lsCommand,
  diffCommand,
  dumpCommand,
  restoreCommand,
  checkCommand,
  forgetCommand,
  pruneCommand,
  keyCommand,
  dbCommand,
];
