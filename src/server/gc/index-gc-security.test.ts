import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { decodeIndex, encodeIndex } from "../../format/index-file.ts";
import { encodeIndexPrefix, parseIndexPrefix } from "../../format/index-pack-list.ts";
import { startTestGateway, xmlField } from "../testing/harness.ts";
import {
  DAY,
  filedIndexes,
  indexOf,
  keysUnder,
  maintainAt,
  master,
  packKey,
  put,
  putIndex,
  putPack,
  putSnapshot,
} from "./testing.ts";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("index GC: a lying pack list cannot get an honest index collected nor a pack deleted", async () => {
  const gw = await startTestGateway({ minDeletionDelay: "14d" });
  try {
    const T0 = Date.now();
    const c = await gw.addSource("web-01");
    const live = await putPack(gw, c, "live");
    const dead = await putPack(gw, c, "dead");
    await putSnapshot(gw, c, "s", [live]);
    const honest = await putIndex(gw, c, [live, dead]);
    const honestBytes = (await gw.signed(c, { method: "GET", path: `/${c.bucket}/${honest}` }))
      .body;
    // The compromised client (same bucket credentials) writes indexes whose plaintext lists lie:
    // (a) its own index about the live pack, listing only the dead one;
    const a = encodeIndex(master, indexOf([live]), (n) => Buffer.alloc(n, 1));
    const aBody = a.bytes.subarray(
      (parseIndexPrefix(a.bytes, a.bytes.length) as { bodyOffset: number }).bodyOffset,
    );
    const lieA = Buffer.concat([encodeIndexPrefix([dead]), aBody]);
    // (b) the honest index's sealed body behind a list naming only the dead pack;
    const hp = parseIndexPrefix(honestBytes, honestBytes.length) as { bodyOffset: number };
    const lieB = Buffer.concat([encodeIndexPrefix([dead]), honestBytes.subarray(hp.bodyOffset)]);
    // (c) list naming the live pack over a body about the dead one (keeps nothing alive).
    const c0 = encodeIndex(master, indexOf([dead]), (n) => Buffer.alloc(n, 2));
    const lieC = Buffer.concat([
      encodeIndexPrefix([live, dead]),
      c0.bytes.subarray(
        (parseIndexPrefix(c0.bytes, c0.bytes.length) as { bodyOffset: number }).bodyOffset,
      ),
    ]);
    const lies = [lieA, lieB, lieC].map((b) => ({ key: `index/${sha(b)}`, b }));
    for (const l of lies) assert.equal((await put(gw, c, l.key, l.b)).status, 200);
    // It cannot replace the honest index's bytes (write-once, names are content hashes) ...
    const over = await put(gw, c, honest, lieB);
    assert.equal(over.status, 409);
    assert.equal(xmlField(over.body, "Code"), "ObjectImmutable");
    // ... nor file a lie under a name that is not its hash (recorded without a list).
    const squat = `index/${"cd".repeat(32)}`;
    assert.equal((await put(gw, c, squat, lieB)).status, 200);

    // GC: pack deletions come from manifests only; the dead pack is destroyed at T0+16d.
    const r1 = await maintainAt(gw, T0 + 2 * DAY);
    assert.deepEqual(r1.gc[0]?.filed, [dead]);
    await maintainAt(gw, T0 + 16 * DAY + 1000);
    const r3 = await maintainAt(gw, T0 + 17 * DAY);
    // Only the lying objects whose own list names only destroyed packs are filed: the
    // attacker can get nothing but its own objects collected.
    assert.deepEqual(filedIndexes(r3).sort(), [lies[0]?.key, lies[1]?.key].sort());
    await maintainAt(gw, T0 + 31 * DAY);
    await maintainAt(gw, T0 + 60 * DAY);
    assert.deepEqual(await keysUnder(gw, c.bucket, "data/"), [packKey(live)]);
    assert.deepEqual(
      await keysUnder(gw, c.bucket, "index/"),
      [honest, lies[2]?.key ?? "", squat].sort(),
    );
    // Honest clients refuse every lying index (the list must equal the sealed content).
    for (const l of [...lies, { key: squat, b: lieB }]) {
      assert.throws(
        () => decodeIndex(master, l.b),
        (e) => isCofferError(e, "CORRUPT") && /plaintext pack list does not match/.test(e.message),
      );
    }
    assert.deepEqual(
      decodeIndex(master, honestBytes).packs.map((p) => p.id),
      [live, dead],
    );
  } finally {
    await gw.close();
  }
});
