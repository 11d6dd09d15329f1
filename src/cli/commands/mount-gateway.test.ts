// coffer mount against a repository behind a real coffer gateway (S3 with client
// credentials), and a gateway restart while a file is being read through the mount.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { runOk, type SourceCreds } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer, spawnCoffer } from "../testing/run-coffer.ts";
import { fuseUnusable, isMounted, until } from "./mount-testing.ts";

const serverSrc = fileURLToPath(new URL("../server/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `coffer-server start` on a fixed port, so that it can be restarted at the same address. */
async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      tsx,
      serverSrc,
      "start",
      "--data-dir",
      dataDir,
      "--listen",
      `127.0.0.1:${String(port)}`,
      "--http",
    ],
    {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dataDir },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
  await until(
    "coffer-server to listen",
    () => err.includes("listening on") || child.exitCode !== null,
  );
  assert.ok(err.includes("listening on"), err);
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test(
  "coffer mount of a gateway repository: latest equals the source, and a read survives a gateway restart (slow: real processes)",
  { skip: fuseUnusable() ?? false, timeout: 900_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "coffer-mount-gw-"));
    const dataDir = join(dir, "gateway");
    await mkdir(dataDir);
    const port = await freePort();
    let server = await startServer(dataDir, port);
    const mnt = join(dir, "mnt");
    await mkdir(mnt);
    let mount: ReturnType<typeof spawnCoffer> | undefined;
    try {
      const creds = JSON.parse(
        (
          await runOk(
            process.execPath,
            [
              "--import",
              tsx,
              serverSrc,
              "source",
              "add",
              "web-01",
              "--data-dir",
              dataDir,
              "--json",
            ],
            {},
            { home: dataDir },
          )
        ).stdout,
      ) as SourceCreds;
      const env = {
        COFFER_REPOSITORY: creds.repository,
        COFFER_PASSWORD: "correct horse battery",
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        COFFER_CACHE_DIR: join(dir, "cache"),
      };
      const src = join(dir, "src");
      await mkdir(join(src, "sub"), { recursive: true });
      const big = pseudoRandomBytes(24 * 1024 * 1024, 11);
      await writeFile(join(src, "big.bin"), big);
      await writeFile(join(src, "sub", "small.txt"), "small\n");
      for (const args of [["init"], ["backup", "-q", src]]) {
        const r = await runCoffer(args, env);
        assert.equal(r.code, 0, r.stderr);
      }
      mount = spawnCoffer(["mount", mnt], env);
      let err = "";
      mount.child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
      await until("the mount", () => isMounted(mnt) || mount?.child.exitCode !== null);
      assert.ok(isMounted(mnt), err);
      const latest = join(mnt, "latest", src);
      assert.match(await readlink(join(mnt, "latest")), /^snapshots\//);
      assert.equal(await readFile(join(latest, "sub", "small.txt"), "utf8"), "small\n");
      // read the start of big.bin, stop the gateway, ask for a part not read yet (it waits,
      // retrying), start the gateway again at the same address: the read completes, no EIO
      const fh = await open(join(latest, "big.bin"), "r");
      try {
        const head = Buffer.alloc(1024 * 1024);
        await fh.read(head, 0, head.length, 0);
        assert.ok(head.equals(big.subarray(0, head.length)));
        await stopServer(server);
        const at = 16 * 1024 * 1024;
        const part = Buffer.alloc(256 * 1024);
        const pending = fh.read(part, 0, part.length, at);
        // down longer than the storage layer's own retries last (6 attempts, about 6 s at
        // most): the mount's patient retry (repository-source.ts) carries the read over
        await sleep(8000);
        server = await startServer(dataDir, port);
        const { bytesRead } = await pending;
        assert.equal(bytesRead, part.length);
        assert.ok(
          part.equals(big.subarray(at, at + part.length)),
          "the bytes read across the restart",
        );
      } finally {
        await fh.close();
      }
      assert.equal(sha(await readFile(join(latest, "big.bin"))), sha(big));
      const diff = spawnSync("diff", ["-r", src, latest], { encoding: "utf8" });
      assert.equal(diff.status, 0, diff.stdout + diff.stderr);
      assert.doesNotMatch(err, /Cannot read/);
    } finally {
      if (mount !== undefined) {
        mount.child.kill("SIGTERM");
        await mount.done;
      }
      if (isMounted(mnt)) spawnSync("umount", ["-l", mnt]);
      await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
