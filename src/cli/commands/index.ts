import type { Command } from "../command.ts";
import { backupCommandSpec } from "./backup.ts";
import { checkCommand } from "./check.ts";
import { diffCommand } from "./diff.ts";
import { dumpCommand } from "./dump.ts";
import { initCommand } from "./init.ts";
import { keyCommand } from "./key.ts";
import { lsCommand } from "./ls.ts";
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
  keyCommand,
];
