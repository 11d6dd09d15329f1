import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isCofferError, type ErrorCode } from "../core/errors.ts";
import { openStorage } from "./open.ts";
import { S3Storage, type S3StorageOptions } from "./s3.ts";
import { FakeS3, type FakeS3Options } from "./testing/fake-s3.ts";

const credentials = { accessKeyId: "AKID", secretAccessKey: "secret" };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function withFake(
  fn: (fake: FakeS3, s: S3Storage) => Promise<void>,
  fakeOptions: FakeS3Options = {},
  options: Partial<S3StorageOptions> = {},
): Promise<void> {
  const fake = await FakeS3.start(["bucket"], fakeOptions);
  const s = new S3Storage({
    bucket: "bucket",
    credentials,
    retry: { baseDelayMs: 5 },
    ...options,
    // "" asks for a host name endpoint, as virtual-host addressing needs one.
    endpoint: options.endpoint === "" ? `http://localhost:${fake.port}` : fake.endpoint,
  });
  try {
    await fn(fake, s);
  } finally {
    await s.close();
    await fake.close();
  }
}

const coffer = (code: ErrorCode, fragment: string) => (err: unknown) => {
  assert.ok(isCofferError(err), String(err));
  assert.equal(err.code, code, err.message);
  assert.ok(err.message.includes(fragment), err.message);
  assert.ok(!err.message.includes("\n"), "one line");
  return true;
};

test("S3Storage retries a 500 twice and then succeeds", async () => {
  await withFake(async (fake, s) => {
    await s.putIfAbsent("config", enc("cfg"));
    const before = fake.requests.length;
    fake.failNext(2, 500);
    assert.deepEqual(Buffer.from(await s.get("config")).toString(), "cfg");
    assert.equal(fake.requests.length - before, 3);
    assert.equal(fake.requests.at(-1)?.headers["amz-sdk-request"], "attempt=3; max=6");
  });
});

test("S3Storage retries throttling (503 SlowDown) and connection resets", async () => {
  await withFake(async (fake, s) => {
    fake.failNext(1, 503, "SlowDown");
    fake.resetNext(2);
    assert.equal(await s.putIfAbsent("index/aa", enc("i")), "created");
    assert.equal(await s.head("index/aa").then((h) => h?.size), 1);
  });
});

test("S3Storage gives up after maxAttempts with a one-line IO error", async () => {
  await withFake(
    async (fake, s) => {
      fake.failNext(10, 500);
      await assert.rejects(
        s.get("config"),
        coffer("IO", "server error 500 (InternalError) after retries"),
      );
      assert.equal(fake.requests.length, 3);
    },
    {},
    { retry: { maxAttempts: 3, baseDelayMs: 1 } },
  );
});

test("S3Storage maps 403, bad keys and missing buckets without retrying", async () => {
  await withFake(async (fake, s) => {
    fake.failNext(1, 403, "AccessDenied");
    await assert.rejects(s.get("config"), coffer("PERMISSION_DENIED", "Cannot read config in s3:"));
    fake.failNext(1, 403, "InvalidAccessKeyId");
    await assert.rejects(s.get("k"), coffer("AUTH", "unknown access key"));
    fake.failNext(1, 403, "SignatureDoesNotMatch");
    await assert.rejects(s.get("k"), coffer("AUTH", "AWS_SECRET_ACCESS_KEY"));
    assert.equal(fake.requests.length, 3);
    const other = new S3Storage({ endpoint: fake.endpoint, bucket: "nope", credentials });
    try {
      await assert.rejects(other.get("config"), coffer("NOT_FOUND", "bucket nope does not exist"));
      await assert.rejects(
        other.list("")[Symbol.asyncIterator]().next(),
        coffer("NOT_FOUND", "bucket nope"),
      );
    } finally {
      await other.close();
    }
  });
});

test("S3Storage reports a refused connection as a NETWORK error", async () => {
  const fake = await FakeS3.start([]);
  const endpoint = fake.endpoint;
  await fake.close();
  const s = new S3Storage({
    endpoint,
    bucket: "b",
    credentials,
    retry: { maxAttempts: 2, baseDelayMs: 1 },
  });
  try {
    await assert.rejects(s.get("config"), coffer("NETWORK", "connection refused"));
  } finally {
    await s.close();
  }
});

test("S3Storage stays correct on a server that ignores If-None-Match", async () => {
  await withFake(
    async (_fake, s) => {
      assert.equal(await s.putIfAbsent("snapshots/1", enc("first")), "created");
      assert.equal(await s.putIfAbsent("snapshots/1", enc("second")), "exists");
      assert.equal(Buffer.from(await s.get("snapshots/1")).toString(), "first");
    },
    { ignoreIfNoneMatch: true },
  );
});

test("S3Storage sends If-None-Match: * and maps 412 to exists", async () => {
  await withFake(
    async (fake, s) => {
      assert.equal(await s.putIfAbsent("k", enc("a")), "created");
      assert.equal(await s.putIfAbsent("k", enc("b")), "exists");
      const puts = fake.requests.filter((r) => r.method === "PUT");
      assert.equal(puts.length, 2);
      assert.ok(puts.every((r) => r.headers["if-none-match"] === "*"));
      assert.ok(puts.every((r) => r.headers["x-amz-checksum-crc32"] === undefined));
    },
    {},
    { headBeforePut: false },
  );
});

test("S3Storage slices the body itself when the server ignores Range", async () => {
  await withFake(
    async (_fake, s) => {
      await s.putIfAbsent("p", enc("0123456789"));
      assert.equal(Buffer.from(await s.get("p", { offset: 3, length: 4 })).toString(), "3456");
      assert.equal(Buffer.from(await s.get("p", { offset: 8, length: 10 })).toString(), "89");
    },
    { ignoreRange: true },
  );
});

test("S3Storage pages through ListObjectsV2 and strips its prefix", async () => {
  await withFake(
    async (fake, s) => {
      for (let i = 0; i < 25; i++)
        await s.putIfAbsent(`data/${String(i).padStart(2, "0")}`, enc("x"));
      const keys: string[] = [];
      for await (const o of s.list("data/")) keys.push(o.key);
      assert.equal(keys.length, 25);
      assert.equal(keys[0], "data/00");
      const lists = fake.requests.filter(
        (r) => r.method === "GET" && r.path.replace(/\/$/, "") === "/bucket",
      );
      assert.equal(lists.length, 3);
      assert.ok(
        [...fake.buckets.get("bucket")!.keys()].every((k) => k.startsWith("tenant/a/data/")),
      );
    },
    { maxKeys: 10 },
    { prefix: "tenant/a" },
  );
});

test("S3Storage uses virtual-host addressing when path-style is off", async () => {
  await withFake(
    async (fake, s) => {
      s.client.middlewareStack.add(
        (next) => (args) => {
          const req = args.request as { hostname: string };
          // bucket.localhost does not resolve here: send it to the fake, keeping the Host.
          req.hostname = "127.0.0.1";
          return next(args);
        },
        { step: "finalizeRequest", priority: "low" },
      );
      await s.putIfAbsent("k", enc("v"));
      assert.equal(fake.requests.at(-1)?.host, `bucket.localhost:${fake.port}`);
      assert.equal(fake.requests.at(-1)?.path, "/k");
      assert.equal(fake.buckets.get("bucket")?.get("k")?.toString(), "v");
    },
    {},
    { forcePathStyle: false, endpoint: "" },
  );
});

void describe("S3Storage over TLS", () => {
  let dir = "";
  let fake: FakeS3;
  let fingerprint = "";
  const env = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret" };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coffer-tls-"));
    // A self-signed certificate, as a first-run gateway has.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-days",
        "2",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const cert = await readFile(join(dir, "cert.pem"), "utf8");
    fingerprint = new X509Certificate(cert).fingerprint256;
    fake = await FakeS3.start(["bucket"], {
      tls: { key: await readFile(join(dir, "key.pem"), "utf8"), cert },
    });
    fake.buckets.get("bucket")!.set("config", Buffer.from("tls-config"));
  });

  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = (): string => `s3:https://127.0.0.1:${fake.port}/bucket`;
  const retry = { maxAttempts: 1 };

  test("an untrusted self-signed certificate is refused with a clear NETWORK error", async () => {
    const s = await openStorage(url(), { env, retry });
    try {
      await assert.rejects(s.get("config"), coffer("NETWORK", "TLS certificate not trusted"));
    } finally {
      await s.close?.();
    }
  });

  test("a pinned SHA-256 fingerprint is accepted in colon or plain hex form", async () => {
    for (const fp of [fingerprint, fingerprint.replace(/:/g, "").toLowerCase()]) {
      const s = await openStorage(url(), { env, retry, fingerprint: fp });
      try {
        assert.equal(Buffer.from(await s.get("config")).toString(), "tls-config");
      } finally {
        await s.close?.();
      }
    }
  });

  test("a wrong pinned fingerprint is refused before any request is sent", async () => {
    const before = fake.requests.length;
    const s = await openStorage(url(), { env, retry, fingerprint: "00".repeat(32) });
    try {
      await assert.rejects(s.get("config"), coffer("NETWORK", "fingerprint mismatch"));
      await assert.rejects(
        s.putIfAbsent("x", enc("secret")),
        coffer("NETWORK", "fingerprint mismatch"),
      );
    } finally {
      await s.close?.();
    }
    assert.equal(fake.requests.length, before);
  });

  test("a custom CA file makes the certificate trusted", async () => {
    const s = await openStorage(url(), { env, retry, caFile: join(dir, "cert.pem") });
    try {
      assert.equal(Buffer.from(await s.get("config")).toString(), "tls-config");
    } finally {
      await s.close?.();
    }
  });
});
