import { once } from "node:events";
import { resolve } from "node:path";
import { CofferError } from "../core/errors.ts";
import { fileContent } from "../engine/browse/index.ts";
import { findSnapshot, type FoundSnapshot } from "../engine/browse/index.ts";
import type { Repository } from "../engine/repository/index.ts";
import { serverDriver } from "./backup-db.ts";
import { StderrTail, spawnTool, toolFailure, type ToolEnv } from "./run-tool.ts";
import { restoreSqliteFile } from "./sqlite.ts";
import { dbTag, parseDbTag, type DbConnection, type DbType } from "./types.ts";

/** Options for {@link restoreDatabase}. */
export interface DbRestoreOptions {
  type: DbType;
  /** `latest` or a snapshot ID prefix. */
  snapshot: string;
  /** Target database (SQLite: file path). */
  database: string;
  /** Source database name for `latest` (default: the target's name). */
  from?: string;
  connection: DbConnection;
  create?: boolean;
  dropExisting?: boolean;
  env?: ToolEnv;
}

/** What a restore did. */
export interface DbRestoreResult {
  snapshotId: string;
  source: string;
  database: string;
  bytes: number;
  /** What was done to the target before loading (created, dropped and re-created...). */
  prepared: string;
}

/** Finds the dump snapshot for a restore and checks it is a dump of the right engine. */
export async function findDumpSnapshot(
  repo: Repository,
  type: DbType,
  ref: string,
  source: string,
): Promise<FoundSnapshot> {
  const found = await findSnapshot(repo, ref, { tags: [[dbTag(type, source)]] });
  const tagged = found.snapshot.tags.map(parseDbTag).find((t) => t !== undefined);
  const kind = found.snapshot.meta?.["db.type"] ?? tagged?.type;
  if (kind !== type) {
    throw new CofferError(
      "BAD_INPUT",
      `Snapshot ${found.id.slice(0, 8)} is ${kind !== undefined ? `a ${kind} dump` : "not a database dump"}, not a ${type} dump`,
    );
  }
  return found;
}

/**
 * Restores a database dump snapshot into a running server (or a SQLite file): prepares the
 * target (refusing a non-empty one unless `dropExisting`), then streams the dump into
 * pg_restore / the mysql client. A failing tool throws ToolError carrying its stderr.
 */
export async function restoreDatabase(
  repo: Repository,
  o: DbRestoreOptions,
): Promise<DbRestoreResult> {
  const target = o.type === "sqlite" ? resolve(o.database) : o.database;
  const sourceName = o.from ?? (o.type === "sqlite" ? (target.split("/").pop() ?? target) : target);
  const { id, snapshot } = await findDumpSnapshot(repo, o.type, o.snapshot, sourceName);
  const nodes = await repo.loadTree(snapshot.tree);
  const node = nodes.find((n) => n.type === "file");
  if (node === undefined || nodes.length !== 1) {
    throw new CofferError(
      "CORRUPT",
      `Snapshot ${id.slice(0, 8)} does not hold exactly one dump file`,
    );
  }
  await repo.ensureIndex();
  const source = snapshot.meta?.["db.name"] ?? sourceName;
  const content = fileContent(repo, node, snapshot.paths[0] ?? "dump", 4);
  if (o.type === "sqlite") {
    const prepared = await restoreSqliteFile(content, target, {
      dropExisting: o.dropExisting === true,
    });
    return { snapshotId: id, source, database: target, bytes: node.size, prepared };
  }
  const driver = serverDriver(o.type);
  const env = driver.env(o.connection, o.env ?? process.env);
  const prepared = await driver.prepareTarget(o.connection, env, target, {
    create: o.create === true,
    dropExisting: o.dropExisting === true,
  });
  await pipeIntoTool(
    driver.restoreCommand(o.connection, target),
    env,
    content,
    `Cannot restore into database "${target}"`,
  );
  return { snapshotId: id, source, database: target, bytes: node.size, prepared };
}

async function pipeIntoTool(
  tool: { command: string; args: string[] },
  env: ToolEnv,
  content: AsyncIterable<Uint8Array>,
  what: string,
): Promise<void> {
  const child = spawnTool(tool.command, tool.args, env, "pipe");
  const stdin = child.stdin;
  if (stdin === null) throw new CofferError("IO", `${what}: no stdin`);
  const stderr = new StderrTail();
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    stderr.push(s);
  });
  child.stdout.resume();
  const state = { broken: false, exited: false };
  stdin.on("error", () => {
    state.broken = true;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on("error", (e) => {
      stderr.push(`\n${tool.command}: error: ${e.message}\n`);
      res({ code: null, signal: null });
    });
    child.on("close", (code, signal) => {
      res({ code, signal });
    });
  });
  void exited.then(() => {
    state.exited = true;
  });
  let readError: Error | undefined;
  try {
    for await (const piece of content) {
      if (state.broken || state.exited) break;
      if (!stdin.write(piece)) {
        await Promise.race([once(stdin, "drain"), exited]);
      }
    }
  } catch (err) {
    readError = err instanceof Error ? err : new Error(String(err));
    child.kill("SIGKILL");
  }
  if (!state.broken) stdin.end();
  const r = await exited;
  if (readError !== undefined) throw readError;
  if (r.code !== 0) throw toolFailure(what, tool.command, { ...r, stderr: stderr.value });
}
