import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { loadConfig, parseDuration } from "./config.ts";
import { MasterKey } from "./master-key.ts";

const dir = mkdtempSync(join(tmpdir(), "coffer-cfg-"));
function yaml(text: string): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, text);
  return p;
}

test("loadConfig() applies embedded defaults and file values", () => {
  const d = loadConfig(undefined, { dataDir: dir, listen: "127.0.0.1:9000", http: true });
  assert.equal(d.minDeletionDelayMs, 14 * 86_400_000);
  assert.deepEqual(d.scratchPrefixes, ["locks/"]);
  assert.equal(d.port, 9000);
  const f = loadConfig(
    yaml(
      `dataDir: ${dir}\nlisten: "[::1]:8443"\nregion: eu-west-3\nminDeletionDelay: 30d\ntls:\n  selfSigned: true\n`,
    ),
  );
  assert.equal(f.host, "::1");
  assert.equal(f.region, "eu-west-3");
  assert.equal(f.minDeletionDelayMs, 30 * 86_400_000);
  assert.equal(parseDuration("36h", "x"), 36 * 3_600_000);
  assert.equal(d.maintenanceIntervalMs, 600_000);
  assert.equal(loadConfig(yaml("maintenance:\n  interval: 2s\n")).maintenanceIntervalMs, 2000);
});

test("loadConfig() refuses bad YAML, unknown fields and plain HTTP off loopback with one-line CONFIG errors", () => {
  for (const [text, over, re] of [
    ["listen: [oops\n", {}, /Invalid config/],
    ["colour: blue\n", {}, /unknown field "colour"/],
    ["minDeletionDelay: soon\n", {}, /minDeletionDelay must be a duration/],
    ["maintenance:\n  interval: 500ms\n", {}, /maintenance\.interval must be at least 1s/],
    ["maintenance:\n  interval: often\n", {}, /maintenance\.interval must be a duration/],
    ["maintenance:\n  every: 1m\n", {}, /unknown field "maintenance\.every"/],
    ["maintenance: 1m\n", {}, /maintenance must be a mapping/],
    ["listen: 0.0.0.0:80\nhttp: true\n", {}, /Refusing plain HTTP on 0\.0\.0\.0/],
  ] as const) {
    assert.throws(
      () => loadConfig(yaml(text), over),
      (e: unknown) => isCofferError(e, "CONFIG") && re.test(e.message) && !e.message.includes("\n"),
    );
  }
  assert.equal(
    loadConfig(yaml("listen: 0.0.0.0:80\nhttp: true\nallowInsecureHttp: true\n")).http,
    true,
  );
  assert.throws(() => loadConfig(join(dir, "missing.yaml")), /Cannot read config/);
});

test("MasterKey.loadOrCreate() makes a 0600 key once and seals secrets with AES-256-GCM", () => {
  const d = mkdtempSync(join(tmpdir(), "coffer-mk-"));
  const k1 = MasterKey.loadOrCreate(d);
  const path = join(d, "master.key");
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const before = readFileSync(path, "utf8");
  const k2 = MasterKey.loadOrCreate(d);
  assert.equal(readFileSync(path, "utf8"), before);
  const sealed = k1.seal("s3cret", "source:AK");
  assert.ok(!sealed.includes("s3cret"));
  assert.equal(k2.open(sealed, "source:AK"), "s3cret");
  assert.throws(
    () => k2.open(sealed, "source:OTHER"),
    (e: unknown) => isCofferError(e, "CORRUPT"),
  );
  assert.throws(
    () => MasterKey.fromBytes(new Uint8Array(32)).open(sealed, "source:AK"),
    (e: unknown) => isCofferError(e, "CORRUPT"),
  );
});
