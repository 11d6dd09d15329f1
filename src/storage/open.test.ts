import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { LocalStorage } from "./local.ts";
import { openStorage, parseRepoUrl } from "./open.ts";
import { S3Storage } from "./s3.ts";

const env = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret" };

const badInput = (fragment: string) => (err: unknown) => {
  assert.ok(isCofferError(err, "BAD_INPUT"), String(err));
  assert.ok(err.message.includes(fragment), err.message);
  assert.ok(!err.message.includes("\n"));
  return true;
};

test("parseRepoUrl() resolves local paths against cwd", () => {
  assert.deepEqual(parseRepoUrl("/srv/backups", "/x"), { kind: "local", path: "/srv/backups" });
  assert.deepEqual(parseRepoUrl("repo", "/home/u"), { kind: "local", path: "/home/u/repo" });
  assert.deepEqual(parseRepoUrl("local:../r", "/home/u"), { kind: "local", path: "/home/r" });
  assert.deepEqual(parseRepoUrl("/srv/a:b", "/"), { kind: "local", path: "/srv/a:b" });
});

test("parseRepoUrl() understands restic-style s3: locations", () => {
  assert.deepEqual(parseRepoUrl("s3:https://gw.example:8443/web-01"), {
    kind: "s3",
    endpoint: "https://gw.example:8443",
    bucket: "web-01",
    prefix: "",
  });
  assert.deepEqual(parseRepoUrl("s3:http://127.0.0.1:9000/bucket/some/prefix/"), {
    kind: "s3",
    endpoint: "http://127.0.0.1:9000",
    bucket: "bucket",
    prefix: "some/prefix",
  });
  assert.deepEqual(parseRepoUrl("s3:s3.eu-west-3.amazonaws.com/my.bucket"), {
    kind: "s3",
    endpoint: "https://s3.eu-west-3.amazonaws.com",
    bucket: "my.bucket",
    prefix: "",
  });
  assert.deepEqual(parseRepoUrl("s3:minio:9000/b/p"), {
    kind: "s3",
    endpoint: "https://minio:9000",
    bucket: "b",
    prefix: "p",
  });
});

test("parseRepoUrl() refuses malformed locations with one-line reasons", () => {
  assert.throws(() => parseRepoUrl(""), badInput("empty location"));
  assert.throws(() => parseRepoUrl("s3:https://host:8443"), badInput("missing bucket"));
  assert.throws(() => parseRepoUrl("s3:https://host:8443/"), badInput("missing bucket"));
  assert.throws(() => parseRepoUrl("s3:https://host:99999/b"), badInput("expected s3:https://"));
  assert.throws(() => parseRepoUrl("s3:"), badInput("expected s3:https://"));
  assert.throws(() => parseRepoUrl("s3:https://h/b?x=1"), badInput("query"));
  assert.throws(() => parseRepoUrl("s3:https://k:s@h/b"), badInput("credentials"));
  assert.throws(() => parseRepoUrl("s3:https://h/b/%2e%2e/x"), badInput(". or .."));
  assert.throws(() => parseRepoUrl("s3:https://h/b_ad*name"), badInput("invalid bucket name"));
  assert.throws(() => parseRepoUrl("sftp:host:/srv"), badInput('unsupported backend "sftp:"'));
  assert.throws(() => parseRepoUrl("local:"), badInput("missing path"));
});

test("openStorage() opens a local directory", async () => {
  const s = await openStorage("relative/repo", { cwd: "/tmp/x" });
  assert.ok(s instanceof LocalStorage);
  assert.equal(s.location, "local:/tmp/x/relative/repo");
});

test("openStorage() builds an S3 backend from the injected environment", async () => {
  const s = await openStorage("s3:https://gw:8443/web-01/repo", {
    env: { ...env, AWS_DEFAULT_REGION: "eu-west-3" },
    fingerprint: "AB:".repeat(31) + "AB",
  });
  try {
    assert.ok(s instanceof S3Storage);
    assert.equal(s.location, "s3:https://gw:8443/web-01/repo");
    assert.equal(await s.client.config.region(), "eu-west-3");
    assert.equal(s.client.config.forcePathStyle, true);
    const creds = await s.client.config.credentials();
    assert.equal(creds.accessKeyId, "AKID");
  } finally {
    await s.close?.();
  }
  const dns = await openStorage("s3:https://gw:8443/web-01", { env, bucketLookup: "dns" });
  assert.ok(dns instanceof S3Storage);
  assert.equal(dns.client.config.forcePathStyle, false);
  await dns.close();
});

test("openStorage() explains what is missing for S3", async () => {
  await assert.rejects(openStorage("s3:https://gw/b", { env: {} }), badInput("AWS_ACCESS_KEY_ID"));
  await assert.rejects(
    openStorage("s3:http://gw/b", { env, fingerprint: "00".repeat(32) }),
    badInput("needs an https endpoint"),
  );
  await assert.rejects(
    openStorage("s3:https://gw/b", { env, fingerprint: "xyz" }),
    badInput("Invalid TLS fingerprint"),
  );
  await assert.rejects(
    openStorage("/srv/repo", { fingerprint: "00".repeat(32) }),
    badInput("only applies to s3:"),
  );
  await assert.rejects(
    openStorage("s3:https://gw/b", { env, caFile: "/nonexistent/ca.pem" }),
    badInput("Cannot read CA file /nonexistent/ca.pem: not found"),
  );
  const dir = await mkdtemp(join(tmpdir(), "coffer-open-"));
  try {
    await writeFile(join(dir, "ca.pem"), "not a certificate");
    await assert.rejects(
      openStorage("s3:https://gw/b", { env, caFile: join(dir, "ca.pem") }),
      badInput("no PEM certificate"),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
