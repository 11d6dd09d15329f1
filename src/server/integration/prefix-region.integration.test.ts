import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  run,
  sha256File,
  startGatewayProcess,
  writeBigFile,
  type GatewayProcess,
  type ProcResult,
  type SourceCreds,
} from "./testing/gateway-process.ts";

const REGION = "eu-west-3";
/** Over each client's multipart threshold as configured below (awscli 8 MiB, s3cmd 15, rclone 16). */
const MULTIPART_BYTES = 20 * 1024 * 1024 + 5;

function awsBin(): string {
  for (const c of ["/usr/bin/aws", "aws"]) {
    try {
      if (
        execFileSync(c, ["--version"], { encoding: "utf8", stdio: "pipe" }).startsWith("aws-cli/2")
      )
        return c;
    } catch {
      // not this one
    }
  }
  return "aws";
}

/**
 * Every real client, against one source created with `--region eu-west-3`, working under a
 * repository prefix (`repo/...`): upload (single and multipart), list the prefix, download
 * byte-identical, a delete made pending, and `repo/locks/…` (a scratch prefix below the
 * repository prefix) destroyed at once.
 */
describe("real clients under a prefix, with a source in a non-default region (slow integration)", () => {
  let gw: GatewayProcess;
  let src: SourceCreds;
  let dir: string;
  let bigSha: string;

  const expectOk = (what: string, r: ProcResult): string => {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout;
  };
  const pendingThenScratch = (client: string): void => {
    assert.equal(gw.deletions(src.bucket, `repo/${client}/small.txt`)[0]?.state, "PENDING");
    assert.ok(gw.object(src.bucket, `repo/${client}/small.txt`) !== undefined);
    assert.equal(gw.object(src.bucket, `repo/locks/${client}`), undefined);
    assert.deepEqual(gw.deletions(src.bucket, `repo/locks/${client}`), []);
  };

  before(async () => {
    gw = await startGatewayProcess({ fromSource: true });
    src = await gw.addSource("paris-01", { region: REGION });
    assert.equal(src.region, REGION);
    dir = mkdtempSync(join(tmpdir(), "coffer-prefix-region-"));
    writeFileSync(join(dir, "small.txt"), "small\n");
    writeFileSync(join(dir, "lock"), "lock\n");
    bigSha = await writeBigFile(join(dir, "big.bin"), MULTIPART_BYTES, 5);
    writeFileSync(join(dir, "rclone.conf"), "");
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("awscli v2", async () => {
    const aws = (args: string[]) =>
      run(
        awsBin(),
        ["--endpoint-url", gw.endpoint, ...args],
        {
          AWS_ACCESS_KEY_ID: src.accessKeyId,
          AWS_SECRET_ACCESS_KEY: src.secretAccessKey,
          AWS_DEFAULT_REGION: REGION,
          AWS_CONFIG_FILE: join(dir, "aws-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, "aws-credentials"),
          AWS_PAGER: "",
          AWS_EC2_METADATA_DISABLED: "true",
        },
        { home: dir },
      );
    const s3 = `s3://${src.bucket}/repo/awscli`;
    expectOk(
      "cp small",
      await aws(["s3", "cp", "--no-progress", join(dir, "small.txt"), `${s3}/small.txt`]),
    );
    expectOk(
      "cp big",
      await aws(["s3", "cp", "--no-progress", join(dir, "big.bin"), `${s3}/big.bin`]),
    );
    assert.match(gw.object(src.bucket, "repo/awscli/big.bin")?.etag ?? "", /-\d+$/);
    assert.match(expectOk("ls", await aws(["s3", "ls", `${s3}/`])), /big\.bin/);
    expectOk(
      "cp down",
      await aws(["s3", "cp", "--no-progress", `${s3}/big.bin`, join(dir, "aws.out")]),
    );
    assert.equal(await sha256File(join(dir, "aws.out")), bigSha);
    expectOk(
      "cp lock",
      await aws([
        "s3",
        "cp",
        "--no-progress",
        join(dir, "lock"),
        `s3://${src.bucket}/repo/locks/awscli`,
      ]),
    );
    expectOk("rm", await aws(["s3", "rm", `${s3}/small.txt`]));
    expectOk("rm lock", await aws(["s3", "rm", `s3://${src.bucket}/repo/locks/awscli`]));
    pendingThenScratch("awscli");
  });

  test("s3cmd", async () => {
    const cfg = join(dir, "s3cfg");
    const hostPort = gw.endpoint.replace(/^https?:\/\//, "");
    writeFileSync(
      cfg,
      [
        "[default]",
        `access_key = ${src.accessKeyId}`,
        `secret_key = ${src.secretAccessKey}`,
        `host_base = ${hostPort}`,
        `host_bucket = ${hostPort}`,
        "use_https = False",
        "signature_v2 = False",
        `bucket_location = ${REGION}`,
        "multipart_chunk_size_mb = 15",
        "",
      ].join("\n"),
    );
    const s3cmd = (args: string[]) =>
      run("s3cmd", ["-c", cfg, "--no-progress", ...args], {}, { home: dir });
    const s3 = `s3://${src.bucket}/repo/s3cmd`;
    expectOk("put small", await s3cmd(["put", join(dir, "small.txt"), `${s3}/small.txt`]));
    expectOk("put big", await s3cmd(["put", join(dir, "big.bin"), `${s3}/big.bin`]));
    assert.match(gw.object(src.bucket, "repo/s3cmd/big.bin")?.etag ?? "", /-\d+$/);
    assert.match(expectOk("ls", await s3cmd(["ls", `${s3}/`])), /big\.bin/);
    expectOk("get", await s3cmd(["get", `${s3}/big.bin`, join(dir, "s3cmd.out")]));
    assert.equal(await sha256File(join(dir, "s3cmd.out")), bigSha);
    expectOk(
      "put lock",
      await s3cmd(["put", join(dir, "lock"), `s3://${src.bucket}/repo/locks/s3cmd`]),
    );
    expectOk("del", await s3cmd(["del", `${s3}/small.txt`]));
    expectOk("del lock", await s3cmd(["del", `s3://${src.bucket}/repo/locks/s3cmd`]));
    pendingThenScratch("s3cmd");
  });

  test("rclone", async () => {
    const rclone = (args: string[]) =>
      run(
        "rclone",
        ["--retries", "1", "--low-level-retries", "1", ...args],
        {
          RCLONE_CONFIG: join(dir, "rclone.conf"),
          RCLONE_CONFIG_GW_TYPE: "s3",
          RCLONE_CONFIG_GW_PROVIDER: "Other",
          RCLONE_CONFIG_GW_ENV_AUTH: "false",
          RCLONE_CONFIG_GW_ACCESS_KEY_ID: src.accessKeyId,
          RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: src.secretAccessKey,
          RCLONE_CONFIG_GW_ENDPOINT: gw.endpoint,
          RCLONE_CONFIG_GW_REGION: REGION,
          RCLONE_CONFIG_GW_FORCE_PATH_STYLE: "true",
          RCLONE_CONFIG_GW_UPLOAD_CUTOFF: "16M",
          RCLONE_CONFIG_GW_CHUNK_SIZE: "8M",
        },
        { home: dir },
      );
    const r = `gw:${src.bucket}/repo/rclone`;
    expectOk("copyto small", await rclone(["copyto", join(dir, "small.txt"), `${r}/small.txt`]));
    expectOk("copyto big", await rclone(["copyto", join(dir, "big.bin"), `${r}/big.bin`]));
    assert.match(gw.object(src.bucket, "repo/rclone/big.bin")?.etag ?? "", /-\d+$/);
    assert.match(expectOk("ls", await rclone(["ls", r])), /big\.bin/);
    expectOk("copyto down", await rclone(["copyto", `${r}/big.bin`, join(dir, "rclone.out")]));
    assert.equal(await sha256File(join(dir, "rclone.out")), bigSha);
    expectOk(
      "copyto lock",
      await rclone(["copyto", join(dir, "lock"), `gw:${src.bucket}/repo/locks/rclone`]),
    );
    expectOk("deletefile", await rclone(["deletefile", `${r}/small.txt`]));
    expectOk("deletefile lock", await rclone(["deletefile", `gw:${src.bucket}/repo/locks/rclone`]));
    pendingThenScratch("rclone");
  });

  test("AWS SDK v3 (defaults: CRC32 trailers)", async () => {
    const s3 = new S3Client({
      endpoint: gw.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: src.accessKeyId, secretAccessKey: src.secretAccessKey },
    });
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: src.bucket, Key: "repo/sdk/small.txt", Body: "small\n" }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: src.bucket,
          Key: "repo/sdk/big.bin",
          Body: readFileSync(join(dir, "big.bin")),
        }),
      );
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: src.bucket, Prefix: "repo/sdk/" }),
      );
      assert.deepEqual(
        listed.Contents?.map((c) => c.Key),
        ["repo/sdk/big.bin", "repo/sdk/small.txt"],
      );
      const got = await s3.send(
        new GetObjectCommand({ Bucket: src.bucket, Key: "repo/sdk/small.txt" }),
      );
      assert.equal(await got.Body?.transformToString(), "small\n");
      await s3.send(
        new PutObjectCommand({ Bucket: src.bucket, Key: "repo/locks/sdk", Body: "lock" }),
      );
      await s3.send(new DeleteObjectCommand({ Bucket: src.bucket, Key: "repo/sdk/small.txt" }));
      await s3.send(new DeleteObjectCommand({ Bucket: src.bucket, Key: "repo/locks/sdk" }));
      pendingThenScratch("sdk");
    } finally {
      s3.destroy();
    }
  });
});
