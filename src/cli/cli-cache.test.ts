import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "../server/testing/harness.ts";
import { runCoffer } from "./testing/run-coffer.ts";

// The real `coffer` process against an in-process gateway: which objects it fetches.
let gw: TestGateway;
let creds: TestCreds;
let dir: string;
const indexGets: string[] = [];
/** Every object GET (key) the gateway served, any bucket. */
const gets: string[] = [];

before(async () => {
  gw = await startTestGateway();
  creds = await gw.addSource("cache");
  gw.running.gateway.onRequest = (l) => {
    if (l.method !== "GET" || l.key === undefined) return;
    gets.push(l.key);
    if (l.key.startsWith("index/") && l.bucket === creds.bucket) indexGets.push(l.key);
  };
  dir = mkdtempSync(join(tmpdir(), "coffer-cli-cache-"));
  writeFileSync(join(dir, "a.txt"), "first\n");
});
after(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = async (c: TestCreds, args: string[], cacheDir: string): Promise<string> => {
  const r = await runCoffer([...args, "-r", `s3:${gw.endpoint}/${c.bucket}`], {
    COFFER_PASSWORD: "test password",
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    COFFER_CACHE_DIR: cacheDir,
  });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString("utf8");
};
const coffer = async (args: string[], cacheDir = join(dir, "cache")): Promise<void> => {
  await run(creds, args, cacheDir);
};

test("coffer backup fetches only index objects it has not cached; --no-cache fetches all and writes none", async () => {
  await coffer(["init"]);
  const src = join(dir, "a.txt");
  await coffer(["backup", src]);
  const base = join(dir, "cache");
  assert.ok(
    readdirSync(base).every((n) => n === "CACHEDIR.TAG" || !existsSync(join(base, n, "index"))),
    "the first backup found no index object to cache",
  );

  writeFileSync(src, "second\n");
  await coffer(["backup", src]);
  assert.ok(existsSync(join(base, "CACHEDIR.TAG")));
  const [repoId] = readdirSync(base).filter((n) => n !== "CACHEDIR.TAG");
  const cached = (): string[] => readdirSync(join(base, repoId ?? "", "index")).sort();
  assert.equal(indexGets.length, 1, "the first backup's index is fetched once");
  assert.equal(cached().length, 1);

  writeFileSync(src, "third\n");
  indexGets.length = 0;
  await coffer(["backup", src]);
  assert.equal(indexGets.length, 1, "only the second backup's index is new");
  assert.equal(cached().length, 2);

  indexGets.length = 0;
  await coffer(["ls", "latest"]);
  assert.equal(indexGets.length, 1, "ls fetches the third backup's index");
  indexGets.length = 0;
  await coffer(["ls", "latest"]);
  assert.deepEqual(indexGets, [], "every index object comes from the cache");

  // A damaged entry is fetched again and repaired.
  const victim = join(base, repoId ?? "", "index", cached()[0] ?? "");
  writeFileSync(victim, "garbage");
  await coffer(["backup", src]);
  assert.deepEqual(indexGets, [`index/${cached()[0] ?? ""}`], "only the damaged entry is fetched");
  assert.equal(
    createHash("sha256").update(readFileSync(victim)).digest("hex"),
    cached()[0],
    "the entry is repaired",
  );

  const stored = await gw.running.metadata.db.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM objects WHERE bucket = ? AND substr(key, 1, 6) = 'index/'",
    [creds.bucket],
  );
  indexGets.length = 0;
  const other = join(dir, "other-cache");
  await coffer(["backup", "--no-cache", src], other);
  assert.equal(indexGets.length, stored?.n, "--no-cache fetches every index object");
  assert.ok(!existsSync(other), "--no-cache writes no cache");
});

test("an unchanged coffer backup reads snapshots and trees from the cache; --no-cache fetches them all; ls, diff and restore through the cache are exact", async () => {
  const c2 = await gw.addSource("cache2");
  const cache = join(dir, "cache2");
  const tree = join(dir, "tree2");
  for (const d of ["a", "a/b", "c"]) mkdirSync(join(tree, d), { recursive: true });
  const files: Record<string, string> = {
    "top.txt": "top\n",
    "a/one.txt": "one\n".repeat(100),
    "a/b/two.bin": "\u0000\u0001two".repeat(300),
    "c/three.txt": "three\n",
  };
  for (const [p, body] of Object.entries(files)) writeFileSync(join(tree, p), body);
  const since = (from: number, prefix: string): number =>
    gets.slice(from).filter((k) => k.startsWith(prefix)).length;
  await run(c2, ["init"], cache);
  const snapIds: string[] = [];
  const backup = async (extra: string[] = []): Promise<{ snaps: number; packs: number }> => {
    const from = gets.length;
    const out = await run(c2, ["backup", "--json", ...extra, tree], cache);
    const summary = out
      .split("\n")
      .filter((l) => l.includes('"summary"'))
      .map((l) => JSON.parse(l) as { snapshot_id: string });
    snapIds.push(summary[0]?.snapshot_id ?? "");
    return { snaps: since(from, "snapshots/"), packs: since(from, "data/") };
  };
  assert.deepEqual(await backup(), { snaps: 0, packs: 0 }, "the first backup has no parent");
  // The first backup wrote its snapshot and tree pack through to the cache.
  for (let i = 0; i < 3; i++)
    assert.deepEqual(
      await backup(),
      { snaps: 0, packs: 0 },
      "an unchanged backup fetches no snapshot and no tree pack",
    );
  const noCache = await backup(["--no-cache"]);
  assert.equal(noCache.snaps, 4, "--no-cache fetches every snapshot");
  assert.ok(noCache.packs >= 1, "--no-cache reads the parent's trees remotely");

  // Through the cache and without it: the same listings, the same diff, bit-exact restores.
  const warmLs = await run(c2, ["ls", "--json", "latest"], cache);
  assert.equal(await run(c2, ["ls", "--json", "--no-cache", "latest"], cache), warmLs);
  assert.ok(warmLs.includes("two.bin"));
  writeFileSync(join(tree, "c/three.txt"), "changed\n");
  await backup();
  const pair = [snapIds.at(-2) ?? "", snapIds.at(-1) ?? ""];
  const from = gets.length;
  const d = await run(c2, ["diff", "--json", ...pair], cache);
  assert.equal(since(from, "snapshots/") + since(from, "data/"), 0, "diff reads only the cache");
  assert.equal(await run(c2, ["diff", "--json", "--no-cache", ...pair], cache), d);
  assert.match(d, /"change":"M".*three\.txt/);
  for (const [n, extra] of [
    ["r1", []],
    ["r2", ["--no-cache"]],
  ] as const) {
    await run(c2, ["restore", ...extra, "latest", "--target", join(dir, n)], cache);
    for (const [p, body] of Object.entries({ ...files, "c/three.txt": "changed\n" }))
      assert.deepEqual(readFileSync(join(dir, n, tree, p)), Buffer.from(body), `${n} ${p}`);
  }

  // A damaged cached tree pack: ls still lists exactly, and the entry is repaired.
  const [repoId] = readdirSync(cache).filter((n) => n !== "CACHEDIR.TAG");
  const packsDir = join(cache, repoId ?? "", "packs");
  const cachedPacks = readdirSync(packsDir);
  assert.ok(cachedPacks.length >= 1);
  const firstLs = await run(c2, ["ls", "--json", snapIds[0] ?? ""], cache);
  for (const p of cachedPacks) writeFileSync(join(packsDir, p), "garbage");
  assert.equal(await run(c2, ["ls", "--json", snapIds[0] ?? ""], cache), firstLs);
  // Every snapshot's trees read: every damaged entry was read once, so every one is repaired.
  for (const id of snapIds.slice(1)) await run(c2, ["ls", id], cache);
  for (const p of readdirSync(packsDir))
    assert.equal(
      createHash("sha256")
        .update(readFileSync(join(packsDir, p)))
        .digest("hex"),
      p,
    );
});

test("coffer cache lists the repository caches; --cleanup removes those unused for 30 days", async () => {
  const base = join(dir, "cache2");
  const [repoId] = readdirSync(base).filter((n) => n !== "CACHEDIR.TAG");
  const stale = "0123456789abcdef0123456789abcdef";
  mkdirSync(join(base, stale, "index"), { recursive: true });
  writeFileSync(join(base, stale, "index", "x"), "x");
  const old = Date.now() / 1000 - 31 * 86_400;
  utimesSync(join(base, stale), old, old);
  const list = async (args: string[]) => {
    const r = await runCoffer(["cache", "--json", ...args], { COFFER_CACHE_DIR: base });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.toString("utf8")) as {
      caches: { repository_id: string; size_bytes: number; old: boolean }[];
      removed: { repository_id: string }[];
    };
  };
  const before = await list([]);
  assert.deepEqual(
    before.caches.map((c) => [c.repository_id, c.old]),
    [
      [stale, true],
      [repoId, false],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
  assert.ok((before.caches.find((c) => c.repository_id === repoId)?.size_bytes ?? 0) > 0);
  const after = await list(["--cleanup"]);
  assert.deepEqual(
    after.removed.map((c) => c.repository_id),
    [stale],
  );
  assert.deepEqual(
    after.caches.map((c) => c.repository_id),
    [repoId],
  );
  assert.ok(!existsSync(join(base, stale)));
});
