import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { hashUserLine, parseUsersFile, verifyUser } from "./users-file.ts";

test("a users-file line verifies its own password and no other, for its own user only", async () => {
  const line = await hashUserLine("alice", "correct horse", (n) => randomBytes(n));
  assert.match(line, /^alice:\$scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  const users = parseUsersFile(`# comment\n\n${line}\n`, "users");
  assert.equal(await verifyUser(users, "alice", "correct horse"), true);
  assert.equal(await verifyUser(users, "alice", "correct horsE"), false);
  assert.equal(await verifyUser(users, "bob", "correct horse"), false);
  assert.equal(await verifyUser(users, "", ""), false);
});

test("parseUsersFile() refuses malformed lines, plaintext passwords and duplicates, naming the line", async () => {
  const line = await hashUserLine("alice", "correct horse", (n) => randomBytes(n));
  for (const [text, why] of [
    ["alice:plaintext", /line 1: expected name:\$scrypt\$/],
    [`${line}\n${line}`, /line 2: user alice appears twice/],
    [line.replace("N=32768", "N=1000"), /line 1: N must be a power of two/],
  ] as const) {
    assert.throws(
      () => parseUsersFile(text, "/etc/coffer/users"),
      (err) =>
        isCofferError(err, "BAD_INPUT") &&
        why.test(err.message) &&
        err.message.startsWith("Cannot read users file /etc/coffer/users"),
    );
  }
  await assert.rejects(
    hashUserLine("a:b", "pw", (n) => randomBytes(n)),
    /names have no ':'/,
  );
});
