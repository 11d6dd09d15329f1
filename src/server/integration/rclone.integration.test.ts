import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

describe("rclone (s3 backend, provider Other, env config) against a coffer-server process (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let b: SourceCreds;
  let dir: string;
  let bigSha: string;
  let seeded: { key: string; sha: string };
  const rclone = (c: SourceCreds, args: string[]) =>
    run(
      "rclone",
      ["--retries", "1", "--low-level-retries", "1", ...args],
      {
        RCLONE_CONFIG: join(dir, "rclone.conf"),
        RCLONE_CONFIG_GW_TYPE: "s3",
        RCLONE_CONFIG_GW_PROVIDER: "Other",
        RCLONE_CONFIG_GW_ENV_AUTH: "false",
        RCLONE_CONFIG_GW_ACCESS_KEY_ID: c.accessKeyId,
        RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: c.secretAccessKey,
        RCLONE_CONFIG_GW_ENDPOINT: gw.endpoint,
        RCLONE_CONFIG_GW_REGION: "us-east-1",
        RCLONE_CONFIG_GW_FORCE_PATH_STYLE: "true",
        // Multipart from 16 MiB on (rclone's default cutoff is 200 MiB), 8 MiB parts.
        RCLONE_CONFIG_GW_UPLOAD_CUTOFF: "16M",
        RCLONE_CONFIG_GW_CHUNK_SIZE: "8M",
      },
      { home: dir },
    );
  const ok = async (c: SourceCreds, args: string[]): Promise<string> => {
    const r = await rclone(c, args);
    assert.equal(r.code, 0, `rclone ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    gw = await startGatewayProcess();
    a = await gw.addSource("rclone-a");
    b = await gw.addSource("rclone-b");
    dir = mkdtempSync(join(tmpdir(), "coffer-rclone-"));
    writeFileSync(join(dir, "rclone.conf"), "");
    mkdirSync(join(dir, "src/sub"), { recursive: true });
    writeFileSync(join(dir, "src/small.txt"), "hello from rclone\n");
    writeFileSync(join(dir, "src/sub/nested.txt"), "nested\n");
    bigSha = await writeBigFile(join(dir, "src/big.bin"), BIG_FILE_BYTES, 11);
    seeded = await seedObject(gw, b);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("copy uploads a tree with a >64 MiB file (multipart); ls, check and copy back are byte-identical", async () => {
    await ok(a, ["copy", join(dir, "src"), `gw:${a.bucket}/tree`]);
    assertMultipart(gw, a.bucket, "tree/big.bin");
    assertStored(gw, a.bucket, "tree/big.bin", bigSha);
    const ls = await ok(a, ["ls", `gw:${a.bucket}/tree`]);
    assert.match(ls, new RegExp(`^\\s*${BIG_FILE_BYTES} big\\.bin$`, "m"));
    assert.match(ls, /^\s*7 sub\/nested\.txt$/m);
    await ok(a, ["check", join(dir, "src"), `gw:${a.bucket}/tree`]);
    await ok(a, ["copy", `gw:${a.bucket}/tree`, join(dir, "back")]);
    assert.equal(await sha256File(join(dir, "back/big.bin")), bigSha);
    assert.equal(readFileSync(join(dir, "back/sub/nested.txt"), "utf8"), "nested\n");
  });

  test("copyto of one file (rclone creates the bucket first: answered as already owned)", async () => {
    await ok(a, ["copyto", join(dir, "src/small.txt"), `gw:${a.bucket}/single/small.txt`]);
    assert.equal(await ok(a, ["cat", `gw:${a.bucket}/single/small.txt`]), "hello from rclone\n");
  });

  test("deletefile and purge are made pending: objects still listed, readable and on disk", async () => {
    await ok(a, ["deletefile", `gw:${a.bucket}/tree/big.bin`]);
    assertPendingDeletion(gw, a, "tree/big.bin", bigSha);
    const r = await rclone(a, ["delete", `gw:${a.bucket}/tree/sub`]);
    assert.ok(r.code !== null);
    const nestedSha = await sha256File(join(dir, "src/sub/nested.txt"));
    assertPendingDeletion(gw, a, "tree/sub/nested.txt", nestedSha);
    const ls = await ok(a, ["ls", `gw:${a.bucket}/tree`]);
    assert.match(ls, /big\.bin/);
    assert.match(ls, /sub\/nested\.txt/);
    assert.equal(await ok(a, ["cat", `gw:${a.bucket}/tree/sub/nested.txt`]), "nested\n");
  });

  test("source A's credentials cannot list, read, write or delete in B, nor make buckets", async () => {
    const refused = async (args: string[], why = /AccessDenied|403/): Promise<void> => {
      const r = await rclone(a, args);
      assert.notEqual(r.code, 0, `rclone ${args.join(" ")} should fail: ${r.stdout}`);
      assert.match(r.stderr, why, r.stderr);
    };
    await refused(["ls", `gw:${b.bucket}`]);
    await refused(["copyto", join(dir, "src/small.txt"), `gw:${b.bucket}/intruder.txt`]);
    await refused(["cat", `gw:${b.bucket}/${seeded.key}`]);
    // deletefile HEADs first; a HEAD error has no body, so rclone reports the 403 as "doesn't exist".
    await refused(["deletefile", `gw:${b.bucket}/${seeded.key}`], /AccessDenied|403|doesn't exist/);
    await refused(["purge", `gw:${b.bucket}`]);
    await refused(["mkdir", "gw:brand-new-bucket"]);
    const buckets = await ok(a, ["lsd", "gw:"]);
    assert.deepEqual(
      buckets
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).pop()),
      [a.bucket],
    );
    assertUntouched(gw, b, seeded);
  });
});
