/**
 * Builds the golden v1 repository `testdata/repo-v1/repo` and its description
 * `testdata/repo-v1/expected.json`. **Run once, never casually**: the checked-in repository is
 * what every future Coffer must still read (see testdata/repo-v1/README.md). It refuses to
 * overwrite an existing one unless given `--force`.
 *
 * ```
 * node --import tsx src/engine/testing/make-golden.ts [--force]
 * ```
 *
 * Deterministic inputs: the tree (fixed names, contents, modes, nanosecond mtimes, xattr),
 * the repository's randomness (master key, config ID, key-file salt, snapshot/index salts)
 * and clock, and snapshot times. Blob salts are drawn by the worker threads from the system
 * RNG, so a re-run produces different pack bytes: that is why the output is checked in.
 */
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeClock } from "../../core/deps.ts";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { readXattrs, writeXattrs } from "../../fsmeta/xattrs.ts";
import { LocalStorage } from "../../storage/local.ts";
import { backup } from "../backup/index.ts";
import { Repository } from "../repository/index.ts";
import { TEST_KDF, seededRandom } from "./fixtures.ts";

/** Password of the golden repository. */
export const GOLDEN_PASSWORD = "coffer-golden";
/** Where the tree is built while backing up (recorded in the snapshots' paths). */
export const GOLDEN_TREE = "/tmp/coffer-golden-v1/tree";
/** `testdata/repo-v1` in this checkout. */
export const GOLDEN_DIR = fileURLToPath(new URL("../../../testdata/repo-v1/", import.meta.url));

/** One entry of a snapshot's tree as `expected.json` describes it. */
export interface GoldenEntry {
  /** Path relative to the backed-up directory, base64 of its bytes. */
  pathB64: string;
  /** Readable form of the path (lossy for non-UTF-8 names). */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Permission bits (`st_mode & 0o7777`). */
  mode: number;
  /** Decimal nanoseconds since the epoch. */
  mtimeNs: string;
  size?: number;
  /** File contents, base64 (files up to 64 KiB). */
  contentB64?: string;
  /** SHA-256 of the contents (every file). */
  sha256?: string;
  linkTargetB64?: string;
  /** `user.*` xattrs, base64 values. */
  xattrs?: Record<string, string>;
}

/** `testdata/repo-v1/expected.json`. */
export interface GoldenExpected {
  password: string;
  config: { packSize: number; chunker: { min: number; avg: number; max: number } };
  snapshots: {
    id: string;
    time: string;
    host: string;
    tags: string[];
    paths: string[];
    entries: GoldenEntry[];
  }[];
}

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const NON_UTF8 = Buffer.concat([b("caf"), Buffer.from([0xe9]), b("-latin1.txt")]);
const BIG_SIZE = 1536 * 1024;

/** Sets nanosecond mtimes/atimes (not following symlinks) with GNU touch; paths as bytes. */
function touchAll(list: { path: Buffer; sec: number; ns: number }[]): void {
  const input = Buffer.concat(
    list.flatMap((e) => [
      b(`@${e.sec}.${String(e.ns).padStart(9, "0")}`),
      Buffer.from([0]),
      e.path,
      Buffer.from([0]),
    ]),
  );
  const script =
    'while IFS= read -r -d "" t && IFS= read -r -d "" p; do touch -h -d "$t" -- "$p" || exit 1; done';
  const r = spawnSync("bash", ["-c", script], { input });
  if (r.status !== 0) throw new Error(`touch failed: ${r.stderr.toString()}`);
}

const abs = (root: string, rel: Buffer): Buffer => Buffer.concat([b(root), b("/"), rel]);

async function buildTree(root: string, version: 1 | 2): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, "sub"), { recursive: true });
  await writeFile(
    join(root, "hello.txt"),
    version === 1 ? "hello, coffer\n" : "hello again, coffer\n",
  );
  await chmod(join(root, "hello.txt"), 0o644);
  await writeFile(join(root, "empty"), "");
  await chmod(join(root, "empty"), 0o600);
  await writeFile(join(root, "run.sh"), "#!/bin/sh\necho golden\n");
  await chmod(join(root, "run.sh"), 0o755);
  await symlink("hello.txt", join(root, "link"));
  await writeFile(abs(root, NON_UTF8), "name is ISO-8859-1, not UTF-8\n");
  await chmod(abs(root, NON_UTF8), 0o640);
  await writeFile(join(root, "sub", "big.bin"), pseudoRandomBytes(BIG_SIZE, 0x601de11));
  await writeFile(join(root, "sub", "note.txt"), "has an xattr\n");
  const warns: string[] = [];
  await writeXattrs(
    b(join(root, "sub", "note.txt")),
    "file",
    [{ name: "user.coffer.golden", value: b("v1 \u2713") }],
    (w) => {
      warns.push(w.message);
    },
  );
  if (warns.length > 0) throw new Error(`xattrs unsupported: ${warns.join("; ")}`);
  if (version === 2) await writeFile(join(root, "sub", "added.txt"), "added in snapshot 2\n");
  await chmod(join(root, "sub"), 0o750);
  // Fixed times, children before parents.
  const times: [Buffer, number][] = [
    [b("hello.txt"), 1_700_000_001],
    [b("empty"), 1_700_000_002],
    [b("run.sh"), 1_700_000_003],
    [b("link"), 1_700_000_004],
    [NON_UTF8, 1_700_000_005],
    [b("sub/big.bin"), 1_700_000_006],
    [b("sub/note.txt"), 1_700_000_007],
    ...(version === 2 ? ([[b("sub/added.txt"), 1_700_100_008]] as [Buffer, number][]) : []),
    [b("sub"), 1_700_000_009 + version],
    [b("."), 1_700_000_010 + version],
  ];
  touchAll(
    times.map(([rel, sec], i) => ({
      path: rel.equals(b(".")) ? b(root) : abs(root, rel),
      sec: sec + (version === 2 && i === 0 ? 100_000 : 0),
      ns: 123_456_789 + i * 111_111,
    })),
  );
}

/** Describes the tree under `root` (sorted by name bytes, root excluded). */
export async function describeTree(root: string): Promise<GoldenEntry[]> {
  const out: GoldenEntry[] = [];
  const visit = async (rel: Buffer): Promise<void> => {
    const dir = rel.length === 0 ? b(root) : abs(root, rel);
    const names = (await readdir(dir, { encoding: "buffer" })).sort((x, y) => Buffer.compare(x, y));
    for (const name of names) {
      const r = rel.length === 0 ? name : Buffer.concat([rel, b("/"), name]);
      const p = abs(root, r);
      const st = await lstat(p, { bigint: true });
      const base = {
        pathB64: r.toString("base64"),
        path: r.toString("utf8"),
        mode: Number(st.mode & 0o7777n),
        mtimeNs: String(st.mtimeNs),
      };
      if (st.isSymbolicLink()) {
        out.push({
          ...base,
          type: "symlink",
          linkTargetB64: (await readlink(p, { encoding: "buffer" })).toString("base64"),
        });
      } else if (st.isDirectory()) {
        out.push({ ...base, type: "dir", ...(await xattrsOf(p, "dir")) });
        await visit(r);
      } else {
        const data = await readFile(p);
        out.push({
          ...base,
          type: "file",
          size: data.length,
          ...(data.length <= 64 * 1024 ? { contentB64: data.toString("base64") } : {}),
          sha256: createHash("sha256").update(data).digest("hex"),
          ...(await xattrsOf(p, "file")),
        });
      }
    }
  };
  await visit(Buffer.alloc(0));
  return out;
}

async function xattrsOf(
  p: Buffer,
  kind: "file" | "dir",
): Promise<{ xattrs?: Record<string, string> }> {
  const xs = await readXattrs(p, kind);
  if (xs.length === 0) return {};
  return { xattrs: Object.fromEntries(xs.map((x) => [x.name, x.value.toString("base64")])) };
}

async function main(): Promise<void> {
  const repoDir = join(GOLDEN_DIR, "repo");
  if (existsSync(repoDir) && !process.argv.includes("--force")) {
    throw new Error(
      `${repoDir} exists: the golden repository must not be regenerated (see README.md); --force overrides`,
    );
  }
  await rm(repoDir, { recursive: true, force: true });
  const config = {
    packSize: 1024 * 1024,
    chunker: { min: 256 * 1024, avg: 512 * 1024, max: 1024 * 1024 },
  };
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5));
  const repo = await Repository.init(new LocalStorage(repoDir), GOLDEN_PASSWORD, {
    random: seededRandom("coffer-golden-v1"),
    clock,
    hostname: "golden-host",
    username: "golden",
    kdf: TEST_KDF,
    ...config,
  });
  const expected: GoldenExpected = { password: GOLDEN_PASSWORD, config, snapshots: [] };
  const times = ["2026-01-02T03:04:05.123456789Z", "2026-01-03T03:04:05.987654321Z"];
  for (const version of [1, 2] as const) {
    await buildTree(GOLDEN_TREE, version);
    const r = await backup(repo, {
      paths: [GOLDEN_TREE],
      host: "golden",
      tags: ["golden", `v${version}`],
      time: times[version - 1]!,
      workers: 1,
    });
    if (r.warnings > 0) throw new Error(`backup warned: ${JSON.stringify(r.warningList)}`);
    expected.snapshots.push({
      id: r.snapshotId,
      time: r.snapshot.time,
      host: r.snapshot.host,
      tags: r.snapshot.tags,
      paths: r.snapshot.paths,
      entries: await describeTree(GOLDEN_TREE),
    });
  }
  await rm(join(repoDir, "tmp"), { recursive: true, force: true });
  await rm("/tmp/coffer-golden-v1", { recursive: true, force: true });
  await writeFile(join(GOLDEN_DIR, "expected.json"), `${JSON.stringify(expected, null, 2)}\n`);
  process.stdout.write(`golden repository written to ${repoDir}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
