import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestGateway, xmlField, type TestCreds, type TestGateway } from "./testing/harness.ts";

describe("Gateway: isolation by addressing style", () => {
  let gw: TestGateway;
  let a: TestCreds;
  let b: TestCreds;
  before(async () => {
    gw = await startTestGateway();
    a = await gw.addSource("vh-a");
    b = await gw.addSource("vh-b");
    await gw.signed(b, { method: "PUT", path: `/${b.bucket}/secret`, body: "b" });
    await gw.signed(a, { method: "PUT", path: `/${a.bucket}/mine`, body: "a" });
  });
  after(async () => {
    await gw.close();
  });

  const vhost = (bucket: string) => `${bucket}.localhost:${gw.port}`;

  test("virtual-host answers the same for another source's bucket and a missing one", async () => {
    const cases: { method: string; path: string; query?: string }[] = [
      { method: "GET", path: "/" },
      { method: "HEAD", path: "/" },
      { method: "GET", path: "/", query: "list-type=2" },
      { method: "GET", path: "/", query: "location" },
      { method: "GET", path: "/secret" },
      { method: "HEAD", path: "/secret" },
      { method: "PUT", path: "/x" },
      { method: "DELETE", path: "/secret" },
    ];
    for (const c of cases) {
      const send = (bucket: string) =>
        gw.signed(a, {
          ...c,
          headers: { host: vhost(bucket) },
          ...(c.method === "PUT" ? { body: "z" } : {}),
        });
      const other = await send(b.bucket);
      const missing = await send("no-such-bucket-zz");
      const what = `${c.method} ${c.path}?${c.query ?? ""}`;
      assert.equal(other.status, missing.status, what);
      assert.equal(xmlField(other.body, "Code"), xmlField(missing.body, "Code"), what);
    }
    // Nothing of B was touched.
    const r = await gw.signed(b, { method: "GET", path: `/${b.bucket}/secret` });
    assert.equal(r.body.toString(), "b");
    assert.equal(await gw.running.metadata.deletions.pending(b.bucket, "secret"), undefined);
  });

  test("virtual-host still works for the caller's own bucket", async () => {
    const r = await gw.signed(a, {
      method: "GET",
      path: "/mine",
      headers: { host: vhost(a.bucket) },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "a");
  });
});
