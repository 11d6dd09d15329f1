import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCoffer } from "../../cli/testing/run-coffer.ts";
import { compareTrees, formatDifferences, makeTree } from "../../fsmeta/testing/make-tree.ts";
import {
  startGatewayProcess,
  type GatewayProcess,
  type SourceCreds,
} from "./testing/gateway-process.ts";

interface ManifestRow {
  key: string;
  snapshot_id: string;
  host: string;
  committed_at: number;
  packs: string;
}

for (const https of [false, true]) {
  describe(`coffer end to end through a coffer-server process over ${https ? "HTTPS with --tls-fingerprint" : "HTTP"} (slow integration)`, () => {
    let gw: GatewayProcess;
    let a: SourceCreds;
    let b: SourceCreds;
    let dir: string;
    let src: string;
    let repo: string;
    const env = (c: SourceCreds): Record<string, string> => ({
      COFFER_PASSWORD: "correct horse battery staple",
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      COFFER_CACHE_DIR: join(dir, "cache"),
    });
    const tls = (): string[] =>
      gw.tlsFingerprint === undefined ? [] : ["--tls-fingerprint", gw.tlsFingerprint];
    const coffer = (args: string[], c: SourceCreds = a) =>
      runCoffer([...args, "-r", repo, ...tls()], env(c));

    before(async () => {
      gw = await startGatewayProcess({ https });
      a = await gw.addSource("coffer-a");
      b = await gw.addSource("coffer-b");
      assert.equal(a.repository, `s3:${gw.endpoint}/${a.bucket}`);
      dir = mkdtempSync(join(tmpdir(), "coffer-e2e-gw-"));
      src = join(dir, "src");
      await makeTree(src, {
        largeSize: 20 * 1024 * 1024,
        sparseSize: 8 * 1024 * 1024,
        specials: false,
        unreadable: false,
      });
      repo = a.repository;
    });
    after(async () => {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("init, backup, snapshots, restore (bit-exact), check --read-data with the source's credentials; manifests recorded", async () => {
      const init = await coffer(["init"]);
      assert.equal(init.code, 0, init.stderr);
      const started = Date.now();
      const bk = await coffer(["backup", src, "--host", "web-01", "--tag", "daily", "--json"]);
      assert.equal(bk.code, 0, bk.stderr);
      const summary = JSON.parse(bk.stdout.toString().trim().split("\n").pop() ?? "{}") as {
        snapshot_id: string;
      };
      assert.match(summary.snapshot_id, /^[0-9a-f]{64}$/);

      const snaps = await coffer(["snapshots", "--json"]);
      assert.equal(snaps.code, 0, snaps.stderr);
      const list = JSON.parse(snaps.stdout.toString()) as {
        id: string;
        host: string;
        tags: string[];
      }[];
      assert.deepEqual(
        list.map((s) => [s.id, s.host, s.tags]),
        [[summary.snapshot_id, "web-01", ["daily"]]],
      );

      const target = join(dir, "restored");
      const rs = await coffer(["restore", "latest", "--target", target]);
      assert.equal(rs.code, 0, rs.stderr);
      const diffs = await compareTrees(src, join(target, src));
      assert.deepEqual(diffs, [], formatDifferences(diffs));

      const ck = await coffer(["check", "--read-data"]);
      assert.equal(ck.code, 0, ck.stderr + ck.stdout.toString());
      assert.match(ck.stdout.toString(), /no errors/);

      // The gateway recorded the client's manifest with its own commit time, and every pack
      // it names is an object the gateway stored.
      const rows = gw.query<ManifestRow>(
        "SELECT key, snapshot_id, host, committed_at, packs FROM manifests WHERE bucket = ?",
        a.bucket,
      );
      assert.equal(rows.length, 1);
      const m = rows[0]!;
      assert.equal(m.snapshot_id, summary.snapshot_id);
      assert.equal(m.host, "web-01");
      assert.ok(m.committed_at >= started - 1000 && m.committed_at <= Date.now() + 1000);
      const packs = JSON.parse(m.packs) as string[];
      assert.ok(packs.length > 0);
      for (const p of packs)
        assert.ok(
          gw.object(a.bucket, `data/${p.slice(0, 2)}/${p}`) !== undefined,
          `pack ${p} not stored`,
        );
      assert.ok(gw.object(a.bucket, m.key) !== undefined);
      assert.ok(gw.object(a.bucket, `snapshots/${summary.snapshot_id}`) !== undefined);
    });

    test("another source's credentials cannot open the repository; a wrong key is refused clearly", async () => {
      const other = await coffer(["snapshots"], b);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /Access Denied|AccessDenied|denied/i);
      // (The SDK may add its own Node-version warning; coffer's error is one line.)
      assert.equal(
        other.stderr.split("\n").filter((l) => l.startsWith("coffer:")).length,
        1,
        other.stderr,
      );
      const bad = await runCoffer(["snapshots", "-r", repo, ...tls()], {
        ...env(a),
        AWS_SECRET_ACCESS_KEY: "x".repeat(40),
      });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /signature|SignatureDoesNotMatch/i);
    });

    if (https) {
      test("a wrong --tls-fingerprint is refused before any request", async () => {
        const r = await runCoffer(
          ["snapshots", "-r", repo, "--tls-fingerprint", "ab".repeat(32)],
          env(a),
        );
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /fingerprint/i);
      });
    }
  });
}
