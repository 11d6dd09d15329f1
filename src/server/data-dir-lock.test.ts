import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { applyConfigDocument } from "./config.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { startServer } from "./server.ts";

const tsx = import.meta.resolve("tsx");
const lockModule = new URL("./data-dir-lock.ts", import.meta.url).href;

describe("lockDataDir", () => {
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), "coffer-lock-"));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("a second server on the same data directory is refused and server.json is kept", async () => {
    const dataDir = newDir();
    const cfg = applyConfigDocument({ dataDir, listen: "127.0.0.1:0", http: true }, "(test)");
    const first = await startServer(cfg);
    try {
      const info = readFileSync(join(dataDir, "server.json"), "utf8");
      await assert.rejects(
        startServer(cfg),
        (e) =>
          isCofferError(e, "CONFIG") &&
          /data directory .* is in use by another coffer-server \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)/.test(
            e.message,
          ),
      );
      assert.equal(readFileSync(join(dataDir, "server.json"), "utf8"), info);
    } finally {
      await first.close();
    }
    // Released at close: the directory can be served again.
    const again = await startServer(cfg);
    await again.close();
  });

  test("the lock is held across processes and released by the kernel when its holder is killed", async () => {
    const dataDir = newDir();
    const child = spawn(
      process.execPath,
      [
        "--import",
        tsx,
        "-e",
        `const { lockDataDir } = await import(${JSON.stringify(lockModule)}); lockDataDir(${JSON.stringify(dataDir)}); console.log("locked"); setInterval(() => {}, 1000);`,
        "--input-type=module",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (b: Buffer) => {
        if (b.toString().includes("locked")) resolve();
      });
      child.once("exit", (c) => {
        reject(new Error(`lock holder exited ${String(c)}`));
      });
    });
    assert.throws(
      () => lockDataDir(dataDir),
      (e) => isCofferError(e, "CONFIG"),
    );
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    lockDataDir(dataDir).release(); // no stale lock after a crash
  });
});
