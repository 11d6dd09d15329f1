import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { pingUrl, sendPing } from "./ping.ts";

test("pingUrl() follows the healthchecks.io convention, keeping a query string last", () => {
  assert.equal(pingUrl("https://hc-ping.com/abc", "start"), "https://hc-ping.com/abc/start");
  assert.equal(pingUrl("https://hc-ping.com/abc/", "failure"), "https://hc-ping.com/abc/fail");
  assert.equal(pingUrl("https://hc-ping.com/abc", "success"), "https://hc-ping.com/abc");
  assert.equal(
    pingUrl("https://kuma.example/api/push/T?status=up", "start"),
    "https://kuma.example/api/push/T/start?status=up",
  );
});

test("sendPing() posts the body and never throws: an HTTP error or a refused connection is returned as text", async () => {
  const got: { url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      got.push({ url: req.url ?? "", body });
      res.statusCode = req.url === "/down" ? 503 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  const base = `http://127.0.0.1:${String(typeof a === "object" && a !== null ? a.port : 0)}`;
  try {
    assert.equal(await sendPing(`${base}/x`, "failure", "log line"), undefined);
    assert.deepEqual(got, [{ url: "/x/fail", body: "log line" }]);
    assert.equal(await sendPing(`${base}/down`, "success", ""), "HTTP 503");
  } finally {
    await new Promise((r) => server.close(r));
  }
  // The server is gone: nothing listens on its port any more.
  assert.match((await sendPing(`${base}/x`, "start", "")) ?? "", /^fetch failed: [A-Z_]+$/);
});
