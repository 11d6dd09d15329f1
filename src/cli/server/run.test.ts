import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { RunningServer } from "../../server/server.ts";
import { runServerCli } from "./run.ts";

function capture(): {
  io: { out(l: string): void; err(l: string): void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

test("coffer-server source add --json while the server runs; the keys work; rotate and disable take effect", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-cli-"));
  const c = capture();
  let running: RunningServer | undefined;
  const done = runServerCli(
    ["start", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--http"],
    c.io,
    (s) => (running = s),
  );
  while (running === undefined) await new Promise((r) => setTimeout(r, 20));
  const add = capture();
  assert.equal(
    await runServerCli(["source", "add", "web-01", "--data-dir", dataDir, "--json"], add.io),
    0,
  );
  const j = JSON.parse(add.out.join("")) as {
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    endpoint: string;
  };
  assert.equal(j.bucket, "web-01");
  assert.equal(j.endpoint, `http://127.0.0.1:${running.port}`);
  const s3 = (k: string, s: string) =>
    new S3Client({
      endpoint: j.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: k, secretAccessKey: s },
      maxAttempts: 1,
    });
  await s3(j.accessKeyId, j.secretAccessKey).send(new ListObjectsV2Command({ Bucket: j.bucket }));
  const text = capture();
  assert.equal(await runServerCli(["source", "add", "web-02", "--data-dir", dataDir], text.io), 0);
  assert.match(
    text.out.join("\n"),
    new RegExp(`coffer init -r s3:http://127\\.0\\.0\\.1:${running.port}/web-02`),
  );
  const rot = capture();
  assert.equal(
    await runServerCli(
      ["source", "rotate-credentials", "web-01", "--data-dir", dataDir, "--json"],
      rot.io,
    ),
    0,
  );
  const r = JSON.parse(rot.out.join("")) as { accessKeyId: string; secretAccessKey: string };
  await assert.rejects(
    s3(j.accessKeyId, j.secretAccessKey).send(new ListObjectsV2Command({ Bucket: j.bucket })),
    { name: "InvalidAccessKeyId" },
  );
  await s3(r.accessKeyId, r.secretAccessKey).send(new ListObjectsV2Command({ Bucket: j.bucket }));
  assert.equal(
    await runServerCli(["source", "disable", "web-01", "--data-dir", dataDir], capture().io),
    0,
  );
  await assert.rejects(
    s3(r.accessKeyId, r.secretAccessKey).send(new ListObjectsV2Command({ Bucket: j.bucket })),
    { name: "AccessDenied" },
  );
  const list = capture();
  assert.equal(await runServerCli(["source", "list", "--data-dir", dataDir, "--json"], list.io), 0);
  assert.deepEqual(
    (JSON.parse(list.out.join("")) as { name: string }[]).map((s) => s.name),
    ["web-01", "web-02"],
  );
  assert.ok(!list.out.join("").includes(r.secretAccessKey));
  const dup = capture();
  assert.equal(await runServerCli(["source", "add", "web-02", "--data-dir", dataDir], dup.io), 2);
  assert.match(dup.err.join(""), /already exists/);
  await running.close();
  assert.equal(await done, 0);
});

test("coffer-server start exits with one clear line on a port in use, an unwritable data dir, and a bad config", async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const port = (busy.address() as { port: number }).port;
  const c = capture();
  assert.equal(
    await runServerCli(
      [
        "start",
        "--data-dir",
        mkdtempSync(join(tmpdir(), "coffer-cli-")),
        "--listen",
        `127.0.0.1:${port}`,
        "--http",
      ],
      c.io,
    ),
    3,
  );
  assert.deepEqual(c.err, [
    `coffer-server: Cannot listen on 127.0.0.1:${port}: address already in use`,
  ]);
  busy.close();
  if (process.getuid?.() !== 0) {
    const ro = mkdtempSync(join(tmpdir(), "coffer-ro-"));
    mkdirSync(join(ro, "sub"));
    chmodSync(join(ro, "sub"), 0o500);
    const d = capture();
    assert.equal(
      await runServerCli(
        ["start", "--data-dir", join(ro, "sub", "data"), "--listen", "127.0.0.1:0", "--http"],
        d.io,
      ),
      3,
    );
    assert.match(d.err[0] ?? "", /^coffer-server: Cannot use data directory .*permission denied/);
  }
  const b = capture();
  assert.equal(await runServerCli(["start", "--listen", "nonsense", "--http"], b.io), 3);
  assert.match(b.err[0] ?? "", /listen must be HOST:PORT/);
});

test("bin/coffer-server.mjs runs the CLI through tsx (slow: spawns node)", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coffer-bin-"));
  const child = spawn(process.execPath, [
    new URL("../../../bin/coffer-server.mjs", import.meta.url).pathname,
    "source",
    "add",
    "bin-01",
    "--data-dir",
    dataDir,
    "--json",
  ]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.on("close", r));
  assert.equal(code, 0);
  assert.equal((JSON.parse(out) as { bucket: string }).bucket, "bin-01");
});
