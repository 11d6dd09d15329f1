import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Owners, parseIdFile } from "./owners.ts";

test("parseIdFile() reads passwd/group lines and skips junk", () => {
  const t = parseIdFile(
    "root:x:0:0:root:/root:/bin/bash\n# c\n\nbad line\nx::abc:\nbob:x:1000:1000::/home/bob:/bin/sh\nbob2:x:1000:1000::/:/bin/sh\n",
  );
  assert.equal(t.byId.get(0), "root");
  assert.equal(t.byId.get(1000), "bob", "first entry for an id wins");
  assert.equal(t.byName.get("bob2"), 1000);
  assert.equal(t.byId.size, 2);
});

test("Owners maps ids to names and back, and chooses restore ids", async () => {
  const dir = await mkdtemp(join(tmpdir(), "coffer-owners-"));
  try {
    await writeFile(
      join(dir, "passwd"),
      "root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n",
    );
    await writeFile(join(dir, "group"), "root:x:0:\nstaff:x:50:alice\n");
    const o = await Owners.load({ passwdPath: join(dir, "passwd"), groupPath: join(dir, "group") });
    assert.equal(o.userName(1001), "alice");
    assert.equal(o.userName(4242), undefined);
    assert.equal(o.groupName(50), "staff");
    assert.equal(o.uidOf("alice"), 1001);
    assert.equal(o.gidOf("staff"), 50);
    const rec = { uid: 2000, gid: 60, user: "alice", group: "nogroup-here" };
    assert.deepEqual(o.restoreIds(rec), { uid: 2000, gid: 60 });
    assert.deepEqual(o.restoreIds(rec, true), { uid: 1001, gid: 60 });
    const missing = await Owners.load({
      passwdPath: join(dir, "nope"),
      groupPath: join(dir, "nope"),
    });
    assert.equal(missing.userName(0), undefined);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("Owners.system() reads the real /etc/passwd (root is uid 0)", async () => {
  const o = await Owners.system();
  assert.equal(o.userName(0), "root");
  assert.equal(o.uidOf("root"), 0);
  assert.equal(await Owners.system(), o, "cached");
});
