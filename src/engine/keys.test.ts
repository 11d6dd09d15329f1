import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { importMasterKey } from "../format/keys.ts";
import { addKey, changePassword, exportMasterKey, listKeys, removeKey } from "./keys.ts";
import { Repository } from "./repository.ts";
import { TEST_KDF, testRepository } from "./testing/fixtures.ts";

const who = { hostname: "h", username: "u", kdf: TEST_KDF };

test("key management: add, list, refuse removing the key in use or the last key, change password", async () => {
  const repo = await testRepository({ password: "one" });
  await assert.rejects(removeKey(repo, repo.keyId), (e) => isCofferError(e, "KEY_IN_USE"));
  const second = await addKey(repo, "two", who);
  const keys = await listKeys(repo);
  assert.equal(keys.length, 2);
  assert.equal(keys.find((k) => k.current)?.id, repo.keyId);
  const viaTwo = await Repository.open(repo.storage, "two");
  assert.equal(viaTwo.keyId, second);
  await assert.rejects(removeKey(viaTwo, second), (e) => isCofferError(e, "KEY_IN_USE"));
  await removeKey(viaTwo, repo.keyId.slice(0, 10));
  await assert.rejects(Repository.open(repo.storage, "one"), (e) =>
    isCofferError(e, "WRONG_PASSWORD"),
  );
  await changePassword(viaTwo, "three", who);
  await assert.rejects(Repository.open(repo.storage, "two"), (e) =>
    isCofferError(e, "WRONG_PASSWORD"),
  );
  assert.equal((await Repository.open(repo.storage, "three")).id, repo.id);
  assert.equal((await listKeys(repo)).length, 1);
});

test("exportMasterKey() file and paper forms import back to the same key", async () => {
  const repo = await testRepository();
  for (const form of ["file", "paper"] as const) {
    const { master, repoId } = importMasterKey(exportMasterKey(repo, form));
    assert.equal(repoId, repo.id);
    assert.deepEqual(master.encKey, repo.master.encKey);
  }
});
