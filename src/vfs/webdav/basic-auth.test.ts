import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { FakeClock } from "../../core/deps.ts";
import { BasicAuth } from "./basic-auth.ts";
import { hashUserLine, parseUsersFile } from "./users-file.ts";

const basic = (user: string, pw: string): string =>
  `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`;

test("BasicAuth remembers verified credentials for a while, never wrong ones", async () => {
  const users = parseUsersFile(
    await hashUserLine("alice", "correct horse", (n) => randomBytes(n)),
    "u",
  );
  const clock = new FakeClock(0);
  const auth = new BasicAuth(users, () => clock.now(), 1000);
  assert.equal(await auth.check(undefined), false);
  assert.equal(await auth.check("Bearer x"), false);
  assert.equal(await auth.check(basic("alice", "wrong")), false);
  assert.equal(await auth.check(basic("alice", "wrong")), false);
  assert.equal(await auth.check(basic("alice", "correct horse")), true);
  // a user removed from the map still passes while remembered, and not after the TTL
  (users as Map<string, unknown>).delete("alice");
  clock.advance(999);
  assert.equal(await auth.check(basic("alice", "correct horse")), true);
  clock.advance(1);
  assert.equal(await auth.check(basic("alice", "correct horse")), false);
});
