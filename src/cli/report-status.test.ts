import assert from "node:assert/strict";
import { test } from "node:test";
import { CofferError } from "../core/errors.ts";
import { MemoryStorage } from "../storage/memory.ts";
import { unseal } from "../format/seal.ts";
import { reportFailure, writeRunStatus } from "./report-status.ts";

test("reportFailure() writes status/<time>.json for a failed run on an s3: repository, and rethrows", async () => {
  const storage = new MemoryStorage();
  const ctx = {
    repoUrl: "s3:https://gw:8443/web-01",
    storage: () => Promise.resolve(storage),
    hostname: "web-01",
  };
  const boom = new CofferError("COMMAND_FAILED", "pg_dump exited with status 1");
  await assert.rejects(
    reportFailure(
      ctx,
      ["db:postgres:shop"],
      () => Promise.reject(boom),
      () => Date.UTC(2026, 0, 17, 3),
    ),
    boom,
  );
  const keys: string[] = [];
  for await (const o of storage.list("status/")) keys.push(o.key);
  assert.equal(keys.length, 1);
  assert.match(keys[0] ?? "", /^status\/2026-01-17T03-00-00-000Z-[0-9a-f]{8}\.json$/);
  assert.deepEqual(JSON.parse(Buffer.from(await storage.get(keys[0] ?? "")).toString()), {
    v: 2,
    ok: false,
    tags: ["db:postgres:shop"],
    host: "web-01",
    time: "2026-01-17T03:00:00.000Z",
    code: "COMMAND_FAILED",
  });
  await assert.rejects(
    reportFailure({ ...ctx, repoUrl: "/srv/repo" }, [], () => Promise.reject(boom)),
    boom,
  );
  await assert.rejects(
    reportFailure(ctx, [], () => Promise.reject(new CofferError("BAD_INPUT", "bad flag"))),
    /bad flag/,
  );
  const after: string[] = [];
  for await (const o of storage.list("status/")) after.push(o.key);
  assert.deepEqual(after, keys);
});

test("writeRunStatus() keeps paths, argv, stderr and messages out of the plaintext: they are sealed under the repository key", async () => {
  const storage = new MemoryStorage();
  const key = Buffer.alloc(32, 9);
  const secretBits = {
    message: "Cannot read /home/alice/secret-plans.txt: no such file",
    argv: ["mysqldump", "--password=hunter2", "shop"],
    stderr: "mysqldump: Got error: 1045: Access denied for user 'shop'@'localhost'",
    log: ["open /srv/www/clients/acme/wp-config.php"],
  };
  const k = await writeRunStatus(
    storage,
    {
      ok: false,
      tags: ["job:nightly"],
      host: "web-01",
      time: "2026-01-17T03:00:00.000Z",
      code: "COMMAND_FAILED",
      result: "failure",
      bytes_read: 1234,
      ...secretBits,
    },
    { key },
  );
  const text = Buffer.from(await storage.get(k)).toString();
  for (const needle of ["secret-plans", "hunter2", "Access denied", "wp-config", "/home", "/srv"])
    assert.ok(!text.includes(needle), `${needle} leaked: ${text}`);
  const stored = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(stored).sort(), [
    "bytes_read",
    "code",
    "details",
    "host",
    "ok",
    "result",
    "tags",
    "time",
    "v",
  ]);
  const details = JSON.parse(
    unseal(key, "status", Buffer.from(stored.details as string, "base64")).toString(),
  ) as unknown;
  assert.deepEqual(details, secretBits);
  // Without the key (the repository was never opened) the details are dropped, not leaked.
  const k2 = await writeRunStatus(storage, {
    ok: false,
    tags: [],
    host: "h",
    time: "2026-01-17T03:00:01.000Z",
    ...secretBits,
  });
  const bare = Buffer.from(await storage.get(k2)).toString();
  assert.ok(!bare.includes("hunter2") && !bare.includes("details"), bare);
  // A field that looks harmless but carries free text is sealed too.
  const k3 = await writeRunStatus(
    storage,
    {
      ok: false,
      tags: [],
      host: "h",
      time: "2026-01-17T03:00:02.000Z",
      message: "",
      code: "not a code /etc/x",
      result: "failed: /etc/shadow",
    },
    { key },
  );
  assert.ok(
    !Buffer.from(await storage.get(k3))
      .toString()
      .includes("/etc"),
  );
});
