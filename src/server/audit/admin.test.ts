import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { describe, test } from "node:test";
import { runServerCli } from "../../cli/server/run.ts";
import { putSnapshot } from "../gc/testing.ts";
import { startTestGateway } from "../testing/harness.ts";
import { listDeletions } from "../deletions/workflow.ts";

const sink = { out: () => undefined, err: () => undefined };

function capture(): { io: { out(l: string): void; err(l: string): void }; err: string[] } {
  const err: string[] = [];
  return { io: { out: () => undefined, err: (l) => err.push(l) }, err };
}

describe("admin actions", () => {
  test("policy set|remove, source hold on|off, source delay and deletions cancel are audited with the admin as actor", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("adm-01");
      const cli = (...a: string[]) => runServerCli([...a, "--data-dir", gw.dataDir], sink);
      await gw.signed(c, { method: "PUT", path: `/${c.bucket}/notes/a`, body: "a" });
      await gw.signed(c, { method: "DELETE", path: `/${c.bucket}/notes/a` });
      const [pending] = await listDeletions(gw.running.metadata.db, { state: "PENDING" });
      assert.ok(pending);
      const md = gw.running.metadata;
      const before = Number(
        (await md.db.get<{ seq: number }>("SELECT MAX(seq) AS seq FROM audit_log"))?.seq,
      );
      assert.equal(await cli("policy", "set", "adm-01", "--keep-last", "5"), 0);
      assert.equal(await cli("policy", "remove", "adm-01"), 0);
      assert.equal(await cli("source", "hold", "adm-01", "on"), 0);
      assert.equal(await cli("source", "hold", "adm-01", "off"), 0);
      assert.equal(await cli("source", "delay", "adm-01", "30d"), 0);
      assert.equal(await cli("deletions", "cancel", String(pending.id)), 0);
      const rows = await md.db.all<{ action: string; credential: string; source: string }>(
        "SELECT action, credential, source FROM audit_log WHERE seq > ? ORDER BY seq",
        [before],
      );
      const admin = `admin:${userInfo().username}`;
      assert.deepEqual(
        rows.map((r) => [r.action, r.credential, r.source]),
        [
          ["policy.set", admin, "adm-01"],
          ["policy.remove", admin, "adm-01"],
          ["source.hold", admin, "adm-01"],
          ["source.hold", admin, "adm-01"],
          ["source.delay", admin, "adm-01"],
          ["deletion.cancelled", admin, "adm-01"],
        ],
      );
    } finally {
      await gw.close();
    }
  });

  test("deletions cancel --source cancels a snapshot, its manifest and every later deletion", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("adm-02");
      const id = await putSnapshot(gw, c, "one", []);
      const manifest = (await gw.running.metadata.manifests.list(c.bucket))[0]?.key ?? "";
      await gw.signed(c, { method: "PUT", path: `/${c.bucket}/notes/z`, body: "z" });
      for (const key of [`snapshots/${id}`, manifest, "notes/z"])
        assert.equal(
          (await gw.signed(c, { method: "DELETE", path: `/${c.bucket}/${key}` })).status,
          204,
        );
      const out = capture();
      assert.equal(
        await runServerCli(
          ["deletions", "cancel", "--source", "adm-02", "--data-dir", gw.dataDir],
          out.io,
        ),
        0,
        out.err.join("\n"),
      );
      const all = await listDeletions(gw.running.metadata.db, {});
      assert.deepEqual(
        all.map((d) => [d.key, d.state]),
        [
          [`snapshots/${id}`, "CANCELLED"],
          [manifest, "CANCELLED"],
          ["notes/z", "CANCELLED"],
        ],
      );
    } finally {
      await gw.close();
    }
  });
});
