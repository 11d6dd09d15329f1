import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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

/** awscli v2 (Debian's /usr/bin/aws) even when a v1 shim comes first on PATH. */
function awsBin(): string {
  for (const c of ["/usr/bin/aws", "aws"]) {
    try {
      if (
        execFileSync(c, ["--version"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        }).startsWith("aws-cli/2")
      )
        return c;
    } catch {
      // not this one
    }
  }
  return "aws";
}

for (const https of [false, true]) {
  describe(`awscli v2 against a coffer-server process over ${https ? "HTTPS (self-signed, CA bundle)" : "HTTP"} (slow integration)`, () => {
    const aws = awsBin();
    let gw: GatewayProcess;
    let a: SourceCreds;
    let b: SourceCreds;
    let dir: string;
    let bigSha: string;
    let seeded: { key: string; sha: string };
    const cli = (c: SourceCreds, args: string[]) =>
      run(
        aws,
        [
          "--endpoint-url",
          gw.endpoint,
          ...args,
          ...(args[0] === "s3" && args[1] === "cp" ? ["--no-progress"] : []),
        ],
        {
          AWS_ACCESS_KEY_ID: c.accessKeyId,
          AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
          AWS_DEFAULT_REGION: "us-east-1",
          AWS_CONFIG_FILE: join(dir, "aws-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, "aws-credentials"),
          AWS_PAGER: "",
          AWS_EC2_METADATA_DISABLED: "true",
          ...(gw.caFile !== undefined ? { AWS_CA_BUNDLE: gw.caFile } : {}),
        },
        { home: dir },
      );
    const ok = async (c: SourceCreds, args: string[]): Promise<string> => {
      const r = await cli(c, args);
      assert.equal(r.code, 0, `aws ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };

    before(async () => {
      gw = await startGatewayProcess({ https });
      a = await gw.addSource("aws-a");
      b = await gw.addSource("aws-b");
      dir = mkdtempSync(join(tmpdir(), "coffer-awscli-"));
      writeFileSync(join(dir, "aws-config"), "[default]\n");
      writeFileSync(join(dir, "aws-credentials"), "");
      writeFileSync(join(dir, "small.txt"), "hello from awscli\n");
      bigSha = await writeBigFile(join(dir, "big.bin"), BIG_FILE_BYTES);
      seeded = await seedObject(gw, b);
    });
    after(async () => {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("s3 cp uploads a small file and a >64 MiB file (multipart), ls lists them, cp downloads identical bytes", async () => {
      await ok(a, ["s3", "cp", join(dir, "small.txt"), `s3://${a.bucket}/cli/small.txt`]);
      await ok(a, ["s3", "cp", join(dir, "big.bin"), `s3://${a.bucket}/cli/big.bin`]);
      assertMultipart(gw, a.bucket, "cli/big.bin");
      assertStored(gw, a.bucket, "cli/big.bin", bigSha);
      const ls = await ok(a, ["s3", "ls", "--recursive", `s3://${a.bucket}/`]);
      assert.match(ls, new RegExp(`\\s${BIG_FILE_BYTES} cli/big\\.bin`));
      assert.match(ls, /\s18 cli\/small\.txt/);
      await ok(a, ["s3", "cp", `s3://${a.bucket}/cli/big.bin`, join(dir, "big.out")]);
      assert.equal(await sha256File(join(dir, "big.out")), bigSha);
      rmSync(join(dir, "big.out"));
    });

    test("s3 rm is made pending: the object stays downloadable and a pending deletion is recorded", async () => {
      await ok(a, ["s3", "rm", `s3://${a.bucket}/cli/big.bin`]);
      assertPendingDeletion(gw, a, "cli/big.bin", bigSha);
      const ls = await ok(a, ["s3", "ls", "--recursive", `s3://${a.bucket}/cli/`]);
      assert.match(ls, /cli\/big\.bin/);
      await ok(a, ["s3", "cp", `s3://${a.bucket}/cli/big.bin`, join(dir, "big.again")]);
      assert.equal(await sha256File(join(dir, "big.again")), bigSha);
      rmSync(join(dir, "big.again"));
    });

    // Over HTTPS the TLS path is what differs; the s3api details run once, over HTTP.
    const detail = https ? test.skip : test;

    detail(
      "s3api put-object (CRC32/CRC32C/SHA256 trailers), get-object, list-objects-v2, delete-object",
      async () => {
        const small = join(dir, "small.txt");
        const smallSha = await sha256File(small);
        for (const alg of ["CRC32", "CRC32C", "SHA256"]) {
          const out = JSON.parse(
            await ok(a, [
              "s3api",
              "put-object",
              "--bucket",
              a.bucket,
              "--key",
              `api/${alg}`,
              "--body",
              small,
              "--checksum-algorithm",
              alg,
            ]),
          ) as Record<string, string>;
          assert.ok(
            out[`Checksum${alg}`] !== undefined,
            `no Checksum${alg} echoed: ${JSON.stringify(out)}`,
          );
          assertStored(gw, a.bucket, `api/${alg}`, smallSha);
        }
        await ok(a, [
          "s3api",
          "get-object",
          "--bucket",
          a.bucket,
          "--key",
          "api/CRC32",
          join(dir, "api.out"),
        ]);
        assert.equal(readFileSync(join(dir, "api.out"), "utf8"), "hello from awscli\n");
        const list = JSON.parse(
          await ok(a, ["s3api", "list-objects-v2", "--bucket", a.bucket, "--prefix", "api/"]),
        ) as { Contents: { Key: string; Size: number }[] };
        assert.deepEqual(
          list.Contents.map((o) => [o.Key, o.Size]),
          [
            ["api/CRC32", 18],
            ["api/CRC32C", 18],
            ["api/SHA256", 18],
          ],
        );
        const paged = JSON.parse(
          await ok(a, [
            "s3api",
            "list-objects-v2",
            "--bucket",
            a.bucket,
            "--prefix",
            "api/",
            "--max-items",
            "2",
            "--page-size",
            "1",
          ]),
        ) as { Contents: unknown[]; NextToken?: string };
        assert.equal(paged.Contents.length, 2);
        assert.ok(paged.NextToken !== undefined);
        await ok(a, ["s3api", "delete-object", "--bucket", a.bucket, "--key", "api/CRC32"]);
        assertPendingDeletion(gw, a, "api/CRC32", smallSha);
        // An identical re-upload is accepted (write-once, idempotent); different bytes are refused.
        await ok(a, [
          "s3api",
          "put-object",
          "--bucket",
          a.bucket,
          "--key",
          "api/SHA256",
          "--body",
          small,
        ]);
        writeFileSync(join(dir, "other.txt"), "different bytes\n");
        const clash = await cli(a, [
          "s3api",
          "put-object",
          "--bucket",
          a.bucket,
          "--key",
          "api/SHA256",
          "--body",
          join(dir, "other.txt"),
        ]);
        assert.notEqual(clash.code, 0);
        assert.match(clash.stderr, /ObjectImmutable/);
        assertStored(gw, a.bucket, "api/SHA256", smallSha);
      },
    );

    detail(
      "s3api multipart with CRC32 part checksums: create, upload-part, list-parts, complete",
      async () => {
        const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
        const part2 = Buffer.from("the last part may be small");
        writeFileSync(join(dir, "p1"), part1);
        writeFileSync(join(dir, "p2"), part2);
        const key = "api/multipart.bin";
        const created = JSON.parse(
          await ok(a, [
            "s3api",
            "create-multipart-upload",
            "--bucket",
            a.bucket,
            "--key",
            key,
            "--checksum-algorithm",
            "CRC32",
          ]),
        ) as { UploadId: string };
        const parts: Record<string, string | number>[] = [];
        for (const [i, p] of ["p1", "p2"].entries()) {
          const up = JSON.parse(
            await ok(a, [
              "s3api",
              "upload-part",
              "--bucket",
              a.bucket,
              "--key",
              key,
              "--upload-id",
              created.UploadId,
              "--part-number",
              String(i + 1),
              "--body",
              join(dir, p),
              "--checksum-algorithm",
              "CRC32",
            ]),
          ) as { ETag: string; ChecksumCRC32: string };
          parts.push({ PartNumber: i + 1, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32 });
        }
        const listed = JSON.parse(
          await ok(a, [
            "s3api",
            "list-parts",
            "--bucket",
            a.bucket,
            "--key",
            key,
            "--upload-id",
            created.UploadId,
          ]),
        ) as { Parts: unknown[] };
        assert.equal(listed.Parts.length, 2);
        writeFileSync(join(dir, "mpu.json"), JSON.stringify({ Parts: parts }));
        await ok(a, [
          "s3api",
          "complete-multipart-upload",
          "--bucket",
          a.bucket,
          "--key",
          key,
          "--upload-id",
          created.UploadId,
          "--multipart-upload",
          `file://${join(dir, "mpu.json")}`,
        ]);
        await ok(a, [
          "s3api",
          "get-object",
          "--bucket",
          a.bucket,
          "--key",
          key,
          join(dir, "mpu.out"),
        ]);
        assert.ok(readFileSync(join(dir, "mpu.out")).equals(Buffer.concat([part1, part2])));
        assertMultipart(gw, a.bucket, key);
      },
    );

    test("source A's credentials cannot list, read, write or delete in B, nor create/delete buckets", async () => {
      const refused = async (args: string[]): Promise<void> => {
        const r = await cli(a, args);
        assert.notEqual(r.code, 0, `aws ${args.join(" ")} should fail`);
        assert.match(r.stderr, /AccessDenied|Forbidden|403/, r.stderr);
      };
      await refused(["s3", "ls", `s3://${b.bucket}/`]);
      await refused(["s3", "cp", join(dir, "small.txt"), `s3://${b.bucket}/intruder.txt`]);
      await refused(["s3", "cp", join(dir, "big.bin"), `s3://${b.bucket}/intruder.bin`]);
      await refused(["s3", "cp", `s3://${b.bucket}/${seeded.key}`, join(dir, "stolen")]);
      await refused(["s3api", "delete-object", "--bucket", b.bucket, "--key", seeded.key]);
      await refused(["s3", "rm", "--recursive", `s3://${b.bucket}/`]);
      await refused(["s3", "mb", "s3://brand-new-bucket"]);
      await refused(["s3", "rb", `s3://${a.bucket}`]);
      await refused(["s3", "rb", `s3://${b.bucket}`]);
      const buckets = await ok(a, ["s3", "ls"]);
      assert.deepEqual(
        buckets
          .trim()
          .split("\n")
          .map((l) => l.split(/\s+/).pop()),
        [a.bucket],
      );
      assertUntouched(gw, b, seeded);
    });
  });
}
