import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestGateway, type TestCreds, type TestGateway } from "../server/testing/harness.ts";
import { runCoffer } from "./testing/run-coffer.ts";

// The real `coffer` process against an in-process gateway: which index objects it fetches.
let gw: TestGateway;
let creds: TestCreds;
let dir: string;
const indexGets: string[] = [];

before(async () => {
  gw = await startTestGateway();
  creds = await gw.addSource("cache");
  gw.running.gateway.onRequest = (l) => {
    if (l.method === "GET" && l.key?.startsWith("index/") === true) indexGets.push(l.key);
  };
  dir = mkdtempSync(join(tmpdir(), "coffer-cli-cache-"));
  writeFileSync(join(dir, "a.txt"), "first\n");
});
after(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

const coffer = async (args: string[], cacheDir = join(dir, "cache")): Promise<void> => {
  const r = await runCoffer([...args, "-r", `s3:${gw.endpoint}/${creds.bucket}`], {
    COFFER_PASSWORD: "pw",
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    COFFER_CACHE_DIR: cacheDir,
  });
  assert.equal(r.code, 0, r.stderr);
};

test("coffer backup fetches only index objects it has not cached; --no-cache fetches all and writes none", async () => {
  await coffer(["init"]);
  const src = join(dir, "a.txt");
  await coffer(["backup", src]);
  const base = join(dir, "cache");
  assert.ok(!existsSync(base), "the first backup found no index object to cache");

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
