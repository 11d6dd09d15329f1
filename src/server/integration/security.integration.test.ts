import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { signRequest } from "../../sigv4/sign-request.ts";
import { sha256Hex } from "../../sigv4/signing.ts";
import {
  assertPendingDeletion,
  assertStored,
  assertUntouched,
  seedObject,
} from "./testing/checks.ts";
import {
  startGatewayProcess,
  type GatewayProcess,
  type SourceCreds,
} from "./testing/gateway-process.ts";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const MIN = 60_000;

/** The system-level threat model (DESIGN §1) against a real coffer-server process. */
describe("gateway security at the system level: isolation, no destruction, replay, tampering (slow integration)", () => {
  let gw: GatewayProcess;
  let a: SourceCreds;
  let b: SourceCreds;
  let seeded: { key: string; sha: string };
  let mine: { key: string; sha: string };

  /** Sends a SigV4-signed request with `c`'s key; `tamper` may change it after signing. */
  const send = (
    c: SourceCreds,
    o: {
      method: string;
      path: string;
      query?: string;
      body?: string;
      headers?: Record<string, string>;
      time?: number;
      host?: string;
      tamper?: (r: { path: string; body: Buffer }) => { path: string; body: Buffer };
    },
  ): Promise<Reply> => {
    const body = Buffer.from(o.body ?? "");
    const headers: Record<string, string> = {
      host: o.host ?? `127.0.0.1:${gw.port}`,
      ...(o.headers ?? {}),
    };
    if (o.body !== undefined) headers["content-length"] = String(body.length);
    const s = signRequest(
      {
        method: o.method,
        path: o.path,
        query: o.query ?? "",
        headers,
        payloadHash: sha256Hex(body),
      },
      { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      { region: "us-east-1", time: o.time ?? Date.now() },
    );
    const sent = o.tamper ? o.tamper({ path: o.path, body }) : { path: o.path, body };
    return new Promise((resolve, reject) => {
      const r = request(
        {
          host: "127.0.0.1",
          port: gw.port,
          method: o.method,
          path: o.query ? `${sent.path}?${o.query}` : sent.path,
          headers: s.headers as Record<string, string>,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (ch: Buffer) => parts.push(ch));
          res.on("end", () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(parts).toString("utf8"),
            });
          });
        },
      );
      r.on("error", reject);
      r.end(sent.body);
    });
  };
  const codeOf = (r: Reply): string | undefined =>
    /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1] ??
    (r.headers["x-amz-error-code"] as string | undefined);

  before(async () => {
    gw = await startGatewayProcess();
    a = await gw.addSource("sec-a");
    b = await gw.addSource("sec-b");
    seeded = await seedObject(gw, b);
    mine = await seedObject(gw, a, "data/00/mine");
  });
  after(async () => {
    await gw.stop();
  });

  test("source A's credentials cannot read, list, write or delete in B (path or virtual-host style)", async () => {
    const denied = async (o: Parameters<typeof send>[1]): Promise<void> => {
      const r = await send(a, o);
      assert.equal(r.status, 403, `${o.method} ${o.path}?${o.query ?? ""}: ${r.status} ${r.body}`);
      assert.equal(codeOf(r), "AccessDenied");
    };
    const bk = `/${b.bucket}`;
    await denied({ method: "GET", path: `${bk}/${seeded.key}` });
    await denied({ method: "HEAD", path: `${bk}/${seeded.key}` });
    await denied({ method: "GET", path: `${bk}/${seeded.key}`, headers: { range: "bytes=0-9" } });
    await denied({ method: "GET", path: `${bk}/`, query: "list-type=2" });
    await denied({ method: "GET", path: `${bk}/`, query: "prefix=victim%2F" });
    await denied({ method: "GET", path: `${bk}/`, query: "uploads=" });
    await denied({ method: "PUT", path: `${bk}/intruder`, body: "x" });
    await denied({ method: "PUT", path: `${bk}/${seeded.key}`, body: "overwrite attempt" });
    await denied({ method: "POST", path: `${bk}/intruder`, query: "uploads=" });
    await denied({ method: "DELETE", path: `${bk}/${seeded.key}` });
    const del = `<Delete><Object><Key>${seeded.key}</Key></Object></Delete>`;
    await denied({
      method: "POST",
      path: `${bk}/`,
      query: "delete=",
      body: del,
      headers: { "content-md5": createHash("md5").update(del).digest("base64") },
    });
    // Virtual-host style: the bucket comes from the Host header.
    await denied({
      method: "GET",
      path: `/${seeded.key}`,
      host: `${b.bucket}.localhost:${gw.port}`,
    });
    assertUntouched(gw, b, seeded);
  });

  test("no source can create or delete buckets, and ListBuckets shows only its own", async () => {
    for (const [method, path] of [
      ["PUT", "/brand-new-bucket"],
      ["PUT", `/${b.bucket}`],
      ["DELETE", `/${b.bucket}`],
      ["DELETE", `/${a.bucket}`],
    ] as const) {
      const r = await send(a, { method, path });
      assert.equal(r.status, 403, `${method} ${path}: ${r.body}`);
    }
    const own = await send(a, { method: "PUT", path: `/${a.bucket}` });
    assert.equal(own.status, 409);
    assert.equal(codeOf(own), "BucketAlreadyOwnedByYou");
    const list = await send(a, { method: "GET", path: "/" });
    assert.equal(list.status, 200);
    assert.deepEqual(
      [...list.body.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]),
      [a.bucket],
    );
    assert.ok(
      existsSync(gw.objectPath(a.bucket, mine.key)) &&
        existsSync(gw.objectPath(b.bucket, seeded.key)),
    );
  });

  test("deleting with client credentials never destroys: pending, still readable, still on disk; a repeat keeps the first delay", async () => {
    const r = await send(a, { method: "DELETE", path: `/${a.bucket}/${mine.key}` });
    assert.equal(r.status, 204);
    assert.equal(r.headers["x-coffer-deletion"], "pending");
    assertPendingDeletion(gw, a, mine.key, mine.sha);
    const first = gw.deletions(a.bucket, mine.key)[0]!;
    const again = await send(a, { method: "DELETE", path: `/${a.bucket}/${mine.key}` });
    assert.equal(again.status, 204);
    assert.deepEqual(gw.deletions(a.bucket, mine.key), [first]);
    const get = await send(a, { method: "GET", path: `/${a.bucket}/${mine.key}` });
    assert.equal(get.status, 200);
    assert.equal(get.headers["x-coffer-deletion"], "pending");
    // Overwriting the object (to destroy it that way) is refused too.
    const overwrite = await send(a, {
      method: "PUT",
      path: `/${a.bucket}/${mine.key}`,
      body: "zeroed",
    });
    assert.equal(overwrite.status, 409);
    assertStored(gw, a.bucket, mine.key, mine.sha);
  });

  test("a request signed 16 minutes ago (a replay outside the window) is refused and stores or deletes nothing", async () => {
    const old = Date.now() - 16 * MIN;
    const put = await send(a, {
      method: "PUT",
      path: `/${a.bucket}/replayed`,
      body: "replayed",
      time: old,
    });
    assert.equal(put.status, 403);
    assert.equal(codeOf(put), "RequestTimeTooSkewed");
    assert.equal(gw.object(a.bucket, "replayed"), undefined);
    assert.ok(!existsSync(gw.objectPath(a.bucket, "replayed")));
    const fresh = await seedObject(gw, a, "data/01/fresh");
    const del = await send(a, { method: "DELETE", path: `/${a.bucket}/${fresh.key}`, time: old });
    assert.equal(del.status, 403);
    assert.deepEqual(gw.deletions(a.bucket, fresh.key), []);
    const get = await send(a, {
      method: "GET",
      path: `/${a.bucket}/${fresh.key}`,
      time: Date.now() + 16 * MIN,
    });
    assert.equal(get.status, 403);
    // Within the window the same request is fine.
    const ok = await send(a, {
      method: "GET",
      path: `/${a.bucket}/${fresh.key}`,
      time: Date.now() - 14 * MIN,
    });
    assert.equal(ok.status, 200);
  });

  test("a tampered body or path is refused and nothing is stored", async () => {
    const body = await send(a, {
      method: "PUT",
      path: `/${a.bucket}/tampered`,
      body: "original",
      tamper: (r) => ({ ...r, body: Buffer.from("modified") }),
    });
    assert.equal(body.status, 400);
    assert.equal(codeOf(body), "XAmzContentSHA256Mismatch");
    assert.equal(gw.object(a.bucket, "tampered"), undefined);
    const path = await send(a, {
      method: "PUT",
      path: `/${a.bucket}/innocent`,
      body: "x",
      tamper: (r) => ({ ...r, path: `/${b.bucket}/innocent` }),
    });
    assert.equal(path.status, 403);
    assert.equal(codeOf(path), "SignatureDoesNotMatch");
    assert.equal(gw.object(b.bucket, "innocent"), undefined);
    assert.equal(gw.object(a.bucket, "innocent"), undefined);
  });
});
