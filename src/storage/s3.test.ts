import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { runStorageContract } from "./contract.ts";
import { S3Storage, type S3StorageOptions } from "./s3.ts";
import { FakeS3 } from "./testing/fake-s3.ts";

// 1. The real thing: any S3 endpoint (the coffer gateway, MinIO, AWS) given by env vars.
//    COFFER_TEST_S3_ENDPOINT   e.g. http://127.0.0.1:8443 (required)
//    COFFER_TEST_S3_BUCKET     bucket to use (required)
//    COFFER_TEST_S3_ACCESS_KEY_ID / COFFER_TEST_S3_SECRET_ACCESS_KEY (or AWS_* ones)
//    COFFER_TEST_S3_PREFIX     key prefix for test objects (default "coffer-contract"; use an
//                              allow-listed scratch prefix such as "locks/contract" on the
//                              gateway, whose client DELETEs are otherwise only pending)
//    COFFER_TEST_S3_REGION, COFFER_TEST_S3_VIRTUAL_HOST=1, COFFER_TEST_S3_CA_FILE,
//    COFFER_TEST_S3_FINGERPRINT
const env = process.env;
const endpoint = env.COFFER_TEST_S3_ENDPOINT;
const bucket = env.COFFER_TEST_S3_BUCKET;
const accessKeyId = env.COFFER_TEST_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
const secretAccessKey = env.COFFER_TEST_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
const skip =
  endpoint && bucket && accessKeyId && secretAccessKey
    ? undefined
    : "set COFFER_TEST_S3_ENDPOINT, COFFER_TEST_S3_BUCKET and credentials to run against a real S3 endpoint";

runStorageContract(
  `S3Storage against ${endpoint ?? "a real endpoint"} (integration)`,
  async () => {
    const options: S3StorageOptions = {
      endpoint: endpoint!,
      bucket: bucket!,
      prefix: `${env.COFFER_TEST_S3_PREFIX ?? "coffer-contract"}/${randomBytes(8).toString("hex")}`,
      region: env.COFFER_TEST_S3_REGION ?? "us-east-1",
      credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! },
      forcePathStyle: env.COFFER_TEST_S3_VIRTUAL_HOST !== "1",
    };
    if (env.COFFER_TEST_S3_CA_FILE) options.ca = await readFile(env.COFFER_TEST_S3_CA_FILE);
    if (env.COFFER_TEST_S3_FINGERPRINT) options.fingerprint = env.COFFER_TEST_S3_FINGERPRINT;
    const storage = new S3Storage(options);
    return {
      storage,
      cleanup: async () => {
        // Best effort on a separate client: the contract already closed `storage`.
        const sweeper = new S3Storage(options);
        try {
          for await (const o of sweeper.list("")) await sweeper.delete(o.key);
        } finally {
          await sweeper.close();
        }
      },
    };
  },
  skip === undefined ? {} : { skip },
);

// 2. The same contract over HTTP against the in-memory fake, so the request building, paging,
//    ranges and 412 handling are exercised on every run.
runStorageContract("S3Storage over a fake S3 server", async () => {
  const fake = await FakeS3.start(["bucket"]);
  return {
    storage: new S3Storage({
      endpoint: fake.endpoint,
      bucket: "bucket",
      prefix: "repo/one",
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
      retry: { baseDelayMs: 5 },
    }),
    cleanup: () => fake.close(),
  };
});
