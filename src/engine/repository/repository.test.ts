import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { encodeBlob } from "../../format/blob.ts";
import { PackBuilder, packKey } from "../../format/pack.ts";
import { encodeTree } from "../../format/tree.ts";
import { MemoryStorage } from "../../storage/memory.ts";
import { saveIndex } from "./index-store.ts";
import { Repository } from "./repository.ts";
import { seededRandom, testRepository } from "../testing/fixtures.ts";

test("Repository.init() writes a key file and config, and refuses an existing repository", async () => {
  const storage = new MemoryStorage();
  const repo = await testRepository({ storage });
  assert.match(repo.id, /^[0-9a-f]{64}$/);
  assert.ok(await storage.head("config"));
  assert.ok(await storage.head(`keys/${repo.keyId}`));
  await assert.rejects(testRepository({ storage }), (e) => isCofferError(e, "REPO_EXISTS"));
});

test("Repository.open() opens with the password and names the location otherwise", async () => {
  const storage = new MemoryStorage("here");
  const repo = await testRepository({ storage, password: "right" });
  const again = await Repository.open(storage, "right");
  assert.equal(again.id, repo.id);
  assert.deepEqual(again.master.encKey, repo.master.encKey);
  await assert.rejects(Repository.open(storage, "wrong"), (e) =>
    isCofferError(e, "WRONG_PASSWORD"),
  );
  await assert.rejects(Repository.open(new MemoryStorage("nowhere"), "x"), (e) => {
    assert.ok(isCofferError(e, "REPO_NOT_FOUND"));
    assert.match(e.message, /memory:nowhere/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

test("Repository.loadIndex() honours supersedes and loadBlob() verifies the blob", async () => {
  const repo = await testRepository();
  const random = seededRandom("blobs");
  const pb = new PackBuilder("data");
  const blob = encodeBlob(repo.master, "data", Buffer.from("hello world"), random);
  pb.add(blob);
  const pack = pb.finish(repo.master, random);
  await repo.storage.putIfAbsent(packKey(pack.id), pack.bytes);
  const entry = {
    id: pack.id,
    type: "data" as const,
    size: pack.bytes.length,
    blobs: pack.entries.map(
      (e) =>
        [e.id.toString("hex"), e.offset, e.length, e.rawLength, e.flags] as [
          string,
          number,
          number,
          number,
          number,
        ],
    ),
  };
  const old = await saveIndex(repo.storage, repo.master, random, [entry]);
  const newer = await saveIndex(repo.storage, repo.master, random, [entry], [old]);
  await repo.loadIndex();
  assert.deepEqual(repo.indexIds, [newer]);
  assert.equal(repo.packs.get(pack.id)?.size, pack.bytes.length);
  const hex = blob.id.toString("hex");
  assert.equal(Buffer.from(await repo.loadBlob("data", hex)).toString(), "hello world");
  await assert.rejects(repo.loadBlob("tree", hex), (e) => isCofferError(e, "CORRUPT"));
  // flip a byte inside the blob: loadBlob must refuse it
  const bytes = Buffer.from(pack.bytes);
  bytes[20] = bytes[20]! ^ 1;
  await repo.storage.delete(packKey(pack.id));
  await repo.storage.putIfAbsent(packKey(pack.id), bytes);
  await assert.rejects(repo.loadBlob("data", hex), (e) => isCofferError(e, "CORRUPT"));
});

test("Repository.saveSnapshot() and loadSnapshot()/loadTree() round-trip", async () => {
  const repo = await testRepository();
  const random = seededRandom("trees");
  const tree = encodeBlob(repo.master, "tree", encodeTree([]), random);
  const pb = new PackBuilder("tree");
  pb.add(tree);
  const pack = pb.finish(repo.master, random);
  await repo.storage.putIfAbsent(packKey(pack.id), pack.bytes);
  await saveIndex(repo.storage, repo.master, random, [
    {
      id: pack.id,
      type: "tree",
      size: pack.bytes.length,
      blobs: [[tree.id.toString("hex"), 0, tree.sealed.length, tree.rawLength, tree.flags]],
    },
  ]);
  await repo.loadIndex();
  const stats = {
    files: 0,
    dirs: 0,
    bytes: 0,
    newFiles: 0,
    changedFiles: 0,
    unchangedFiles: 0,
    addedBytes: 0,
    storedBytes: 0,
  };
  const id = await repo.saveSnapshot({
    v: 1,
    time: "2026-01-02T03:04:05.000000000Z",
    host: "h",
    paths: ["/x"],
    tags: [],
    tree: tree.id.toString("hex"),
    username: "u",
    hostname: "h",
    program: "coffer test",
    stats,
  });
  assert.deepEqual(await repo.listSnapshotIds(), [id]);
  const snap = await repo.loadSnapshot(id);
  assert.equal(snap.host, "h");
  assert.deepEqual(await repo.loadTree(snap.tree), []);
  await assert.rejects(repo.loadSnapshot("0".repeat(64)), (e) =>
    isCofferError(e, "SNAPSHOT_NOT_FOUND"),
  );
});
