import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fxBytes } from "../../engine/testing/check-fixture.ts";
import { startTestSmtp } from "../../server/alerts/testing.ts";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test("coffer drill against a gateway: a passing drill reports its recovery time as a run; after a pack is damaged the drill fails, names the files, and the gateway mails the alert (slow: real processes)", async () => {
  const smtp = await startTestSmtp();
  cleanups.push(() => smtp.close());
  const gw = await startGatewayProcess({
    fromSource: true,
    config: `alerts:
  checkInterval: 1s
  smtp: { host: 127.0.0.1, port: ${String(smtp.port)}, from: coffer@gw.example, to: [ops@example.com] }
`,
  });
  cleanups.push(() => gw.stop());
  const dir = await mkdtemp(join(tmpdir(), "coffer-drill-gw-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, "data");
  await mkdir(data);
  await writeFile(join(data, "orders.csv"), fxBytes(3 * 1024 * 1024, 5));
  await writeFile(join(data, "readme.txt"), "hello\n");
  const c = await gw.addSource("web-01");
  const env = {
    COFFER_PASSWORD: "drill gateway password",
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    COFFER_CACHE_DIR: join(dir, "cache"),
  };
  const coffer = (args: string[]) => runCoffer([...args, "-r", c.repository], env);
  assert.equal((await coffer(["init"])).code, 0);
  const b = await coffer(["backup", "-q", "--tag", "job:www", data]);
  assert.equal(b.code, 0, b.stderr);
  const scratch = join(dir, "scratch");

  const ok = await coffer(["drill", "--job", "www", "--target", scratch, "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout.toString()) as Record<string, unknown>;
  assert.equal(report.ok, true);
  assert.equal(report.files, 2);
  assert.equal(typeof report.recovery_time_seconds, "number");
  assert.equal(typeof report.recovery_point_seconds, "number");
  const readStatuses = async (): Promise<Record<string, unknown>[]> => {
    const keys = gw
      .query<{ key: string }>(
        "SELECT key FROM objects WHERE bucket = ? AND key LIKE 'status/%' ORDER BY created_at, key",
        c.bucket,
      )
      .map((r) => r.key);
    return Promise.all(
      keys.map(
        async (k) =>
          JSON.parse(await readFile(gw.objectPath(c.bucket, k), "utf8")) as Record<string, unknown>,
      ),
    );
  };
  const [passed] = await readStatuses();
  assert.equal(passed?.ok, true);
  assert.equal(passed.result, "success");
  assert.deepEqual(passed.tags, ["drill", "drill:www"]);
  assert.equal(passed.duration, report.recovery_time_seconds);
  assert.equal(passed.recovery_point, report.recovery_point_seconds);
  assert.equal(typeof passed.details, "string", "the report itself is sealed");

  // Damage every data pack the gateway holds: the drill fails and names the files.
  const packs = gw.query<{ key: string; size: number }>(
    "SELECT key, size FROM objects WHERE bucket = ? AND key LIKE 'data/%' AND size > 1000000",
    c.bucket,
  );
  assert.ok(packs.length > 0);
  for (const p of packs) {
    const path = gw.objectPath(c.bucket, p.key);
    const buf = await readFile(path);
    buf[500] = (buf[500] ?? 0) ^ 0xff;
    await chmod(path, 0o600);
    await writeFile(path, buf);
  }
  const bad = await coffer(["drill", "--job", "www", "--target", scratch]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout.toString(), new RegExp(`^FAILED ${data}/orders\\.csv: `, "m"));
  assert.match(bad.stdout.toString(), /^drill FAILED: /m);
  const failed = (await readStatuses()).at(-1);
  assert.equal(failed?.ok, false);
  assert.equal(failed.code, "DRILL_FAILED");
  await until("the failed-drill mail", () =>
    smtp.mails.some((m) => m.subject.includes("FAILED") && m.text.includes("drill")),
  );
});
