// Slow-ish: real `coffer` processes (about 15), racing and killed prunes, then `coffer unlock`.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { test } from "node:test";
import { pruneFixture } from "../../engine/testing/prune-fixture.ts";
import { decodeLock, encodeLock, type LockInfo } from "../../engine/prune/index.ts";
import { FakeS3 } from "../../storage/testing/fake-s3.ts";
import { runCoffer, spawnCoffer } from "../testing/run-coffer.ts";

const ONE_LINE = /^coffer: [^\n]+\n$/;
const REFUSAL =
  /^coffer: Cannot prune: another prune holds the repository \(host [^,]+, pid \d+, since \S+Z\); if it is dead, run "coffer unlock --remove-all" or wait until it is stale \(\S+Z, 30 minutes after its last refresh\)\n$/;

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
};

test("two coffer prune processes at once: exactly one proceeds, the other exits 11 with one line", async () => {
  const fx = await pruneFixture();
  try {
    fx.write("a.bin", "a", 90_000);
    await fx.snap(Date.UTC(2026, 0, 1));
    const env = { COFFER_REPOSITORY: fx.repoDir, COFFER_PASSWORD: "pw" };
    // A prune of another host, its clock 10 minutes ahead, still deciding: both processes
    // write their locks and wait for it, so they surely overlap once it gives up.
    const locks = join(fx.repoDir, "locks");
    mkdirSync(locks, { recursive: true });
    const late = new Date(Date.now() + 10 * 60_000).toISOString();
    const foreign: LockInfo = {
      ...{ v: 1, kind: "prune", state: "acquiring", host: "h-late", pid: 7 },
      ...{ username: "u", createdAt: late, refreshedAt: late },
    };
    writeFileSync(join(locks, "prune-late.json"), encodeLock(foreign));
    const runs = [1, 2].map(() => spawnCoffer(["prune", "--quiet", "--grace", "0s"], env));
    const exited: boolean[] = [];
    runs.forEach((r, i) => void r.done.then(() => (exited[i] = true)));
    await until(() => readdirSync(locks).length >= 3 || exited.some(Boolean));
    unlinkSync(join(locks, "prune-late.json"));
    const [a, b] = await Promise.all(runs.map((r) => r.done));
    const codes = [a?.code, b?.code].sort();
    assert.deepEqual(codes, [0, 11], `${a?.stderr ?? ""}\n${b?.stderr ?? ""}`);
    const loser = a?.code === 11 ? a : b;
    assert.match(loser?.stderr ?? "", REFUSAL);
    assert.equal(loser?.stdout.length, 0);
    assert.deepEqual(readdirSync(locks), [], "no lock is left");
  } finally {
    fx.remove();
  }
});

/** An HTTP relay in front of FakeS3 that holds every request `stall` matches until `release`. */
async function stallingRelay(target: number): Promise<{
  server: Server;
  port: number;
  stall: (url: string) => boolean;
  stalled: number;
  release: () => void;
  releaseHeld: () => void;
}> {
  const held: (() => void)[] = [];
  const relay = {
    server: createServer((req, res) => {
      const go = (): void => {
        const up = request(
          {
            host: "127.0.0.1",
            port: target,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        req.pipe(up);
      };
      if (relay.stall(req.url ?? "")) {
        relay.stalled++;
        held.push(go);
      } else go();
    }),
    port: 0,
    stall: ((): boolean => false) as (url: string) => boolean,
    stalled: 0,
    release: () => {
      relay.stall = () => false;
      relay.releaseHeld();
    },
    releaseHeld: () => {
      for (const go of held.splice(0)) go();
    },
  };
  await new Promise<void>((r) => relay.server.listen(0, "127.0.0.1", r));
  relay.port = (relay.server.address() as { port: number }).port;
  return relay;
}

test("a SIGKILLed prune leaves a lock: other hosts are blocked until it is stale or unlock --remove-all; SIGINT releases it", async () => {
  const s3 = await FakeS3.start(["b"]);
  const relay = await stallingRelay(s3.port);
  const dir = mkdtempSync(join(tmpdir(), "coffer-unlock-"));
  try {
    const env = {
      COFFER_REPOSITORY: `s3:http://127.0.0.1:${String(relay.port)}/b`,
      COFFER_PASSWORD: "test password",
      AWS_ACCESS_KEY_ID: "k",
      AWS_SECRET_ACCESS_KEY: "s",
      XDG_CACHE_HOME: join(dir, "cache"),
    };
    const coffer = (args: string[]) => runCoffer(args, env);
    const src = join(dir, "src");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "data");
    assert.equal((await coffer(["init"])).code, 0);
    assert.equal((await coffer(["backup", src, "--quiet"])).code, 0);
    const bucket = s3.buckets.get("b") as Map<string, Buffer>;
    const lockKeys = (): string[] => [...bucket.keys()].filter((k) => k.startsWith("locks/"));

    // The prune holds its lock, then waits on its listing of prune/ plans: kill it there.
    relay.stall = (url) => url.includes("prefix=prune%2F");
    const killed = spawnCoffer(["prune"], env);
    await until(() => relay.stalled > 0);
    const [key] = lockKeys();
    assert.ok(key !== undefined && lockKeys().length === 1);
    const held = decodeLock(key, bucket.get(key) as Buffer);
    assert.equal(held.state, "held");
    assert.equal(held.pid, killed.child.pid);
    killed.child.kill("SIGKILL");
    assert.equal((await killed.done).signal, "SIGKILL");
    relay.release();
    assert.deepEqual(lockKeys(), [key], "the killed prune's lock stays");

    // Seen from another host (the killed prune ran elsewhere): it blocks, in one line.
    bucket.set(key, Buffer.from(encodeLock({ ...held, host: "h2" })));
    const refused = await coffer(["prune"]);
    assert.equal(refused.code, 11);
    assert.match(refused.stderr, REFUSAL);
    assert.match(refused.stderr, /\(host h2, pid \d+, since/);
    const kept = await coffer(["unlock"]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(
      kept.stdout.toString(),
      /^kept live lock locks\/prune-\S+ \(host h2, pid \d+, since \S+\); "coffer unlock --remove-all" removes it\n$/,
    );
    assert.deepEqual(lockKeys(), [key]);
    // 31 minutes without a refresh: stale, removed by a plain unlock.
    const old = new Date(Date.now() - 31 * 60_000).toISOString();
    bucket.set(key, Buffer.from(encodeLock({ ...held, host: "h2", refreshedAt: old })));
    const stale = await coffer(["unlock"]);
    assert.equal(stale.stdout.toString(), "removed 1 stale lock(s)\n");
    assert.deepEqual(lockKeys(), []);
    // Live, removed with --remove-all and a warning.
    bucket.set(key, Buffer.from(encodeLock({ ...held, host: "h2" })));
    const all = await coffer(["unlock", "--remove-all"]);
    assert.equal(all.code, 0);
    assert.match(
      all.stderr,
      /^warning: removed live lock locks\/prune-\S+ \(host h2, pid \d+, since \S+\): if that prune still runs, it stops at its next refresh\n$/,
    );
    // On this host, the dead process's lock does not block: the next prune runs.
    bucket.set(key, Buffer.from(encodeLock(held)));
    const ok = await coffer(["prune", "--quiet"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(lockKeys(), [key], "prune ignores the stale lock and leaves it");
    assert.equal((await coffer(["unlock"])).stdout.toString(), "removed 1 stale lock(s)\n");

    // SIGINT while holding the lock: the prune stops at its next step and releases it.
    relay.stall = (url) => url.includes("prefix=prune%2F");
    const interrupted = spawnCoffer(["prune"], env);
    await until(() => relay.stalled > 1);
    assert.equal(lockKeys().length, 1);
    interrupted.child.kill("SIGINT");
    // Every request but the lock's own is held, and let through one poll at a time, until
    // the signal has stopped the prune.
    relay.stall = (url) => !url.includes("locks");
    let finished = false;
    void interrupted.done.then(() => (finished = true));
    await until(() => {
      relay.releaseHeld();
      return finished;
    });
    relay.release();
    const r = await interrupted.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, ONE_LINE);
    assert.match(r.stderr, /Prune interrupted: the repository is whole/);
    assert.deepEqual(lockKeys(), []);
    assert.equal((await coffer(["check"])).code, 0);
  } finally {
    relay.server.closeAllConnections();
    relay.server.close();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
