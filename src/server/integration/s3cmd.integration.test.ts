import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  assertMultipart,
  assertPendingDeletion,
  assertStored,
  assertUntouched,
  seedObject,
} from "./testing/checks.ts";
import {
  BIG_FILE_BYTES,
  run,
  sha256File,
  startGatewayProcess,
  writeBigFile,
  type GatewayProcess,
  type SourceCreds,
} from "./testing/gateway-process.ts";

describe("s3cmd (generated config, path style, SigV4) against a coffer-server process (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let b: SourceCreds;
  let dir: string;
  let bigSha: string;
  let seeded: { key: string; sha: string };
  const s3cmd = (c: SourceCreds, args: string[]) => {
    const cfg = join(dir, `${c.name}.s3cfg`);
    const hostPort = gw.endpoint.replace(/^https?:\/\//, "");
    writeFileSync(
      cfg,
      [
        "[default]",
        `access_key = ${c.accessKeyId}`,
        `secret_key = ${c.secretAccessKey}`,
        `host_base = ${hostPort}`,
        // No %(bucket)s in host_bucket: path-style requests.
        `host_bucket = ${hostPort}`,
        "use_https = False",
        "signature_v2 = False",
        "bucket_location = us-east-1",
        "multipart_chunk_size_mb = 15",
        "",
      ].join("\n"),
    );
    return run("s3cmd", ["-c", cfg, "--no-progress", ...args], {}, { home: dir });
  };
  const ok = async (c: SourceCreds, args: string[]): Promise<string> => {
    const r = await s3cmd(c, args);
    assert.equal(r.code, 0, `s3cmd ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    gw = await startGatewayProcess();
    a = await gw.addSource("s3cmd-a");
    b = await gw.addSource("s3cmd-b");
    dir = mkdtempSync(join(tmpdir(), "coffer-s3cmd-"));
    writeFileSync(join(dir, "small.txt"), "hello from s3cmd\n");
    bigSha = await writeBigFile(join(dir, "big.bin"), BIG_FILE_BYTES, 23);
    seeded = await seedObject(gw, b);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("put (small, and >64 MiB multipart), ls, info, get byte-identical", async () => {
    await ok(a, ["put", join(dir, "small.txt"), `s3://${a.bucket}/s3cmd/small.txt`]);
    await ok(a, ["put", join(dir, "big.bin"), `s3://${a.bucket}/s3cmd/big.bin`]);
    assertMultipart(gw, a.bucket, "s3cmd/big.bin");
    assertStored(gw, a.bucket, "s3cmd/big.bin", bigSha);
    const ls = await ok(a, ["ls", "-r", `s3://${a.bucket}/`]);
    assert.match(ls, new RegExp(`\\s${BIG_FILE_BYTES}\\s+s3://${a.bucket}/s3cmd/big\\.bin`));
    assert.match(ls, new RegExp(`\\s17\\s+s3://${a.bucket}/s3cmd/small\\.txt`));
    const info = await ok(a, ["info", `s3://${a.bucket}/s3cmd/small.txt`]);
    assert.match(info, /File size: 17/);
    await ok(a, ["get", "--force", `s3://${a.bucket}/s3cmd/big.bin`, join(dir, "big.out")]);
    assert.equal(await sha256File(join(dir, "big.out")), bigSha);
    await ok(a, ["get", "--force", `s3://${a.bucket}/s3cmd/small.txt`, join(dir, "small.out")]);
    assert.equal(readFileSync(join(dir, "small.out"), "utf8"), "hello from s3cmd\n");
  });

  test("del is made pending: the object is still listed, readable and on disk", async () => {
    await ok(a, ["del", `s3://${a.bucket}/s3cmd/big.bin`]);
    assertPendingDeletion(gw, a, "s3cmd/big.bin", bigSha);
    // s3cmd del --recursive uses DeleteObjects (POST ?delete with Content-MD5).
    await ok(a, ["del", "--recursive", "--force", `s3://${a.bucket}/s3cmd/`]);
    assertPendingDeletion(gw, a, "s3cmd/small.txt", await sha256File(join(dir, "small.txt")));
    const ls = await ok(a, ["ls", "-r", `s3://${a.bucket}/`]);
    assert.match(ls, /s3cmd\/big\.bin/);
    assert.match(ls, /s3cmd\/small\.txt/);
  });

  test("source A's credentials cannot list, read, write or delete in B, nor make or remove buckets", async () => {
    const refused = async (args: string[]): Promise<void> => {
      const r = await s3cmd(a, args);
      assert.notEqual(r.code, 0, `s3cmd ${args.join(" ")} should fail: ${r.stdout}`);
      assert.match(r.stderr, /AccessDenied|denied|403/i, r.stderr);
    };
    await refused(["ls", `s3://${b.bucket}/`]);
    await refused(["put", join(dir, "small.txt"), `s3://${b.bucket}/intruder.txt`]);
    await refused(["get", "--force", `s3://${b.bucket}/${seeded.key}`, join(dir, "stolen")]);
    await refused(["del", `s3://${b.bucket}/${seeded.key}`]);
    await refused(["del", "--recursive", "--force", `s3://${b.bucket}/`]);
    await refused(["mb", "s3://brand-new-bucket"]);
    await refused(["rb", `s3://${a.bucket}`]);
    const buckets = await ok(a, ["ls"]);
    assert.deepEqual(
      buckets
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).pop()),
      [`s3://${a.bucket}`],
    );
    assertUntouched(gw, b, seeded);
  });
});
