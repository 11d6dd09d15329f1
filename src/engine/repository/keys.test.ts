import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { importMasterKey } from "../../format/keys.ts";
import { addKey, changePassword, exportMasterKey, listKeys, removeKey } from "./keys.ts";
import { Repository } from "./repository.ts";
import { TEST_KDF, testRepository } from "../testing/fixtures.ts";

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

/** Rewrites `keys/<id>` with `damage` applied to its bytes (same name, as on disk). */
async function damageKey(
  repo: Repository,
  id: string,
  damage: (b: Buffer) => Buffer,
): Promise<void> {
  const bytes = Buffer.from(await repo.storage.get(`keys/${id}`));
  await repo.storage.delete(`keys/${id}`);
  await repo.storage.putIfAbsent(`keys/${id}`, damage(bytes));
}

const flipInData = (b: Buffer): Buffer => {
  const out = Buffer.from(b);
  const at = out.indexOf('"data":"') + 12;
  out[at] = out[at] === 0x41 ? 0x42 : 0x41; // another base64 letter: still parses
  return out;
};

test("Repository.open() names a damaged key file instead of reporting a wrong password", async () => {
  const repo = await testRepository({ password: "right one" });
  const short = repo.keyId.slice(0, 8);
  const original = Buffer.from(await repo.storage.get(`keys/${repo.keyId}`));
  for (const damage of [flipInData, (b: Buffer) => b.subarray(0, b.length - 5)]) {
    await damageKey(repo, repo.keyId, damage);
    await assert.rejects(Repository.open(repo.storage, "right one"), (e) => {
      assert.ok(isCofferError(e, "CORRUPT"), String(e));
      assert.match(
        e.message,
        new RegExp(`key file ${short}: damaged \\(content does not match its name\\)`),
      );
      assert.match(e.message, /key recover/);
      return true;
    });
    await damageKey(repo, repo.keyId, () => original);
    assert.equal((await Repository.open(repo.storage, "right one")).keyId, repo.keyId);
  }
});

test("Repository.open() with a damaged key and an intact one: opens with the intact key's password, else names the damaged one", async () => {
  const repo = await testRepository({ password: "first password" });
  const second = await addKey(repo, "second password", who);
  await damageKey(repo, repo.keyId, flipInData);
  assert.equal((await Repository.open(repo.storage, "second password")).keyId, second);
  await assert.rejects(Repository.open(repo.storage, "first password"), (e) => {
    assert.ok(isCofferError(e, "CORRUPT"), String(e));
    assert.match(e.message, new RegExp(`key file ${repo.keyId.slice(0, 8)}: damaged`));
    assert.match(e.message, /the password opens no other key file/);
    return true;
  });
});

test("Repository.open() with intact key files and a wrong password is WRONG_PASSWORD", async () => {
  const repo = await testRepository({ password: "first password" });
  await addKey(repo, "second password", who);
  await assert.rejects(Repository.open(repo.storage, "third password"), (e) =>
    isCofferError(e, "WRONG_PASSWORD"),
  );
});
