import assert from "node:assert/strict";
import { test } from "node:test";
import { CofferError } from "../core/errors.ts";
import { MemoryStorage } from "../storage/memory.ts";
import { reportFailure } from "./report-status.ts";

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
    ok: false,
    message: "pg_dump exited with status 1",
    tags: ["db:postgres:shop"],
    host: "web-01",
    time: "2026-01-17T03:00:00.000Z",
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
