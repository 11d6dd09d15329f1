import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { backupCommand, backupStream } from "./backup-stream.ts";
import { collect } from "./parallel.ts";
import { testRepository } from "./testing/fixtures.ts";

async function* pieces(total: number, size: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < total; off += size) {
    await new Promise(setImmediate); // like a real stream: pieces arrive on later turns
    const b = Buffer.alloc(Math.min(size, total - off));
    for (let i = 0; i < b.length; i++) b[i] = ((off + i) * 2654435761) >>> 24;
    yield b;
  }
}

test("backupStream() stores a stream as one file with meta, content round-trips", async () => {
  const repo = await testRepository();
  const r = await backupStream(repo, {
    source: pieces(3_000_000, 65_536),
    filename: "dump.sql",
    meta: { db: "shop" },
    host: "h",
    workers: 2,
  });
  assert.deepEqual(r.snapshot.meta, { db: "shop" });
  assert.deepEqual(r.snapshot.paths, ["/dump.sql"]);
  const [node] = await repo.loadTree(r.snapshot.tree);
  assert.equal(node?.size, 3_000_000);
  assert.ok(node.content);
  const parts = await Promise.all(node.content.map((id) => repo.loadBlob("data", id)));
  const all = Buffer.concat(parts);
  const want = Buffer.concat(await collect(pieces(3_000_000, 1_000_000)));
  assert.ok(all.equals(want));
});

test("backupCommand() commits nothing when the command fails, and names its last stderr line", async () => {
  const repo = await testRepository();
  await assert.rejects(
    backupCommand(repo, {
      command: "sh",
      args: ["-c", "echo data; echo first >&2; echo 'disk on fire' >&2; exit 3"],
      filename: "x",
      workers: 1,
    }),
    (e) =>
      isCofferError(e, "COMMAND_FAILED") &&
      /disk on fire/.test(e.message) &&
      /code 3/.test(e.message),
  );
  await assert.rejects(
    backupCommand(repo, { command: "sh", args: ["-c", "kill -9 $$"], filename: "x", workers: 1 }),
    (e) => isCofferError(e, "COMMAND_FAILED") && /SIGKILL/.test(e.message),
  );
  for (const prefix of ["index/", "snapshots/", "manifests/"])
    assert.deepEqual(await collect(repo.storage.list(prefix)), [], prefix);
  const ok = await backupCommand(repo, {
    command: "sh",
    args: ["-c", "printf hello"],
    filename: "out.txt",
    workers: 1,
  });
  const [node] = await repo.loadTree(ok.snapshot.tree);
  assert.equal(Buffer.from(await repo.loadBlob("data", node!.content![0]!)).toString(), "hello");
});
