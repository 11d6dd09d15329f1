import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pseudoRandomBytes } from "../../../fsmeta/testing/make-tree.ts";

const serverBin = fileURLToPath(new URL("../../../../bin/coffer-server.mjs", import.meta.url));
const serverSrc = fileURLToPath(new URL("../../../cli/server/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** What `coffer-server source add NAME --json` prints. */
export interface SourceCreds {
  name: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  endpoint: string;
  tlsFingerprint: string | null;
  repository: string;
  region: string;
}

/** The outcome of a child process. */
export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command with exactly `env` (plus PATH and a private HOME) and captures its output.
 * Real clients read config files from $HOME, so each run gets the test's own HOME.
 */
export function run(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  o: { cwd?: string; home?: string } = {},
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd ?? process.cwd(),
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: o.home ?? tmpdir(),
        LANG: "C.UTF-8",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** Throws with the command's output unless it exited 0. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  o: { cwd?: string; home?: string } = {},
): Promise<ProcResult> {
  const r = await run(cmd, args, env, o);
  if (r.code !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${String(r.code)}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`,
    );
  return r;
}

/** A pending-deletion row as the gateway recorded it. */
export interface DeletionRow {
  bucket: string;
  key: string;
  reason: string;
  requested_by: string;
  requested_at: number;
  execute_after: number;
  state: string;
}

/** A `coffer-server start` child process on 127.0.0.1 with an ephemeral port and a temp data dir. */
export interface GatewayProcess {
  dataDir: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  https: boolean;
  /** SHA-256 fingerprint (`AB:CD:…`) of the self-signed certificate (HTTPS only). */
  tlsFingerprint?: string;
  /** The self-signed certificate (PEM file), usable as the CA bundle (HTTPS only). */
  caFile?: string;
  /** `coffer-server source add NAME --json`. */
  addSource(name: string, o?: { region?: string }): Promise<SourceCreds>;
  /** Runs another `coffer-server` command on this data dir (and config), e.g. `deletions list`. */
  admin(args: readonly string[]): Promise<ProcResult>;
  /** True while the server process runs. */
  alive(): boolean;
  /** Read-only query on the gateway's metadata DB. */
  query<T>(sql: string, ...params: unknown[]): T[];
  deletions(bucket: string, key?: string): DeletionRow[];
  /** The ledger row of an object (or undefined). */
  object(bucket: string, key: string): { size: number; sha256: string; etag: string } | undefined;
  /** Where LocalStorage keeps an object's bytes. */
  objectPath(bucket: string, key: string): string;
  stderr(): string;
  stop(): Promise<void>;
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined,
  child: ChildProcess,
  err: () => string,
  timeoutMs = 30_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (child.exitCode !== null)
      throw new Error(`coffer-server exited ${child.exitCode} before ${what}: ${err()}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}: ${err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link startGatewayProcess}. */
export interface GatewayProcessOptions {
  https?: boolean;
  /** YAML config text, written to `<dataDir>/config.yaml` and passed as `--config`. */
  config?: string;
  /** Extra environment of the server process. */
  env?: Record<string, string>;
  /** Run `src/cli/server/main.ts` through tsx instead of `bin/coffer-server.mjs` (which prefers dist/). */
  fromSource?: boolean;
}

/** Starts `bin/coffer-server.mjs start` as a real process, HTTP (loopback) or HTTPS (self-signed). */
export async function startGatewayProcess(o: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const https = o.https === true;
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-gwproc-"));
  const entry = o.fromSource === true ? ["--import", tsx, serverSrc] : [serverBin];
  const configArgs: string[] = [];
  if (o.config !== undefined) {
    writeFileSync(join(dataDir, "config.yaml"), o.config);
    configArgs.push("--config", join(dataDir, "config.yaml"));
  }
  const args = [
    ...entry,
    "start",
    "--data-dir",
    dataDir,
    ...configArgs,
    "--listen",
    "127.0.0.1:0",
    ...(https ? [] : ["--http"]),
  ];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dataDir, ...o.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let errText = "";
  child.stderr.on("data", (b: Buffer) => (errText += b.toString("utf8")));
  const infoPath = join(dataDir, "server.json");
  const info = await waitFor(
    "server.json",
    () => {
      if (!existsSync(infoPath) || !errText.includes("listening on")) return undefined;
      try {
        return JSON.parse(readFileSync(infoPath, "utf8")) as {
          endpoint: string;
          tlsFingerprint?: string;
        };
      } catch {
        return undefined;
      }
    },
    child,
    () => errText,
  );
  const port = Number(/:(\d+)$/.exec(info.endpoint)?.[1]);
  let db: Database.Database | undefined;
  const getDb = (): Database.Database =>
    (db ??= new Database(join(dataDir, "metadata.sqlite"), {
      readonly: true,
      fileMustExist: true,
    }));
  const query = <T>(sql: string, ...params: unknown[]): T[] =>
    getDb()
      .prepare(sql)
      .all(...params) as T[];
  const gp: GatewayProcess = {
    dataDir,
    endpoint: info.endpoint,
    port,
    https,
    ...(info.tlsFingerprint !== undefined
      ? { tlsFingerprint: info.tlsFingerprint, caFile: join(dataDir, "tls", "cert.pem") }
      : {}),
    async addSource(name, so = {}) {
      const region = so.region !== undefined ? ["--region", so.region] : [];
      const r = await runOk(
        process.execPath,
        [
          ...entry,
          "source",
          "add",
          name,
          ...region,
          "--data-dir",
          dataDir,
          ...configArgs,
          "--json",
        ],
        {},
        { home: dataDir },
      );
      return JSON.parse(r.stdout) as SourceCreds;
    },
    admin: (a) =>
      run(
        process.execPath,
        [...entry, ...a, "--data-dir", dataDir, ...configArgs],
        {},
        {
          home: dataDir,
        },
      ),
    alive: () => child.exitCode === null && child.signalCode === null,
    query,
    deletions: (bucket, key) =>
      key === undefined
        ? query<DeletionRow>("SELECT * FROM deletions WHERE bucket = ? ORDER BY id", bucket)
        : query<DeletionRow>(
            "SELECT * FROM deletions WHERE bucket = ? AND key = ? ORDER BY id",
            bucket,
            key,
          ),
    object: (bucket, key) =>
      query<{ size: number; sha256: string; etag: string }>(
        "SELECT size, sha256, etag FROM objects WHERE bucket = ? AND key = ?",
        bucket,
        key,
      )[0],
    objectPath: (bucket, key) => join(dataDir, "objects", "buckets", bucket, key),
    stderr: () => errText,
    async stop() {
      db?.close();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return gp;
}

/** Writes `size` deterministic pseudo-random bytes to `path` (in 4 MiB pieces); returns its SHA-256. */
export async function writeBigFile(path: string, size: number, seed = 7): Promise<string> {
  const sha = createHash("sha256");
  const out = createWriteStream(path);
  let left = size;
  let i = 0;
  while (left > 0) {
    const n = Math.min(left, 4 << 20);
    const piece = pseudoRandomBytes(n, seed + i++);
    sha.update(piece);
    if (!out.write(piece))
      await new Promise<void>((r) =>
        out.once("drain", () => {
          r();
        }),
      );
    left -= n;
  }
  await new Promise<void>((resolve, reject) => {
    out.end((err?: Error | null) => {
      if (err) reject(err);
      else resolve();
    });
  });
  return sha.digest("hex");
}

/** SHA-256 (hex) of a file. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest("hex");
}

/** Size of the big test file: over 64 MiB, so every client must use multipart. */
export const BIG_FILE_BYTES = 64 * 1024 * 1024 + 3 * 1024 * 1024 + 17;
