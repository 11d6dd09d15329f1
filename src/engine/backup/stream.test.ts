import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { backupCommand, backupStream } from "./stream.ts";
import { collect } from "../../core/parallel.ts";
import { testRepository } from "../testing/fixtures.ts";

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

/** Incompressible, non-repeating bytes (xorshift32), in pieces of `size`. */
async function* noise(total: number, size: number): AsyncIterable<Uint8Array> {
  let x = 0x9e3779b9;
  for (let off = 0; off < total; off += size) {
    await new Promise(setImmediate);
    const b = Buffer.alloc(Math.min(size, total - off));
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    yield b;
  }
}

test("backupStream() counts only blobs it stored: a repeated stream adds nothing", async () => {
  const repo = await testRepository();
  const first = await backupStream(repo, {
    source: noise(6_000_000, 100_000),
    filename: "a",
    workers: 2,
  });
  assert.ok(first.stats.addedBlobs > 2, "several data blobs and one tree");
  const again = await backupStream(repo, {
    source: noise(6_000_000, 333_333),
    filename: "a",
    workers: 2,
  });
  assert.equal(again.stats.processedBytes, 6_000_000);
  // The fixture's clock is fixed, so even the tree blob is the same: nothing is new.
  assert.equal(again.stats.addedBlobs, 0);
  assert.equal(again.stats.addedBytes, 0);
  const [a] = await repo.loadTree(first.snapshot.tree);
  const [b] = await repo.loadTree(again.snapshot.tree);
  assert.deepEqual(b?.content, a?.content, "same cut points whatever the piece sizes");
});
