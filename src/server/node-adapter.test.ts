import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { signRequest } from "../sigv4/sign-request.ts";
import { startTestGateway, type TestGateway } from "./testing/harness.ts";

/** Opens a socket, writes `head` and a 10-byte start of a body, and collects the answer. */
async function partialUpload(
  gw: TestGateway,
  head: string,
): Promise<{ sock: Socket; text: () => string; closed: Promise<void> }> {
  const sock = connect(gw.port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", () => { r(); }));
  let text = "";
  sock.on("data", (b: Buffer) => (text += b.toString("latin1")));
  sock.on("error", () => undefined);
  const closed = new Promise<void>((r) => sock.once("close", () => { r(); }));
  sock.write(head + "0123456789");
  return { sock, text: () => text, closed };
}

// A regression makes these wait for ever; the cap turns that into a failure.
describe("node adapter: bodies and connections are bounded", { timeout: 60_000 }, () => {
  test("an unauthenticated PUT announcing 60 MB and sending 10 bytes is answered 403 and closed, its body never awaited", async () => {
    const gw = await startTestGateway();
    try {
      const c = await gw.addSource("slow-01");
      const up = await partialUpload(
        gw,
        `PUT /${c.bucket}/big HTTP/1.1\r\nHost: ${gw.host}\r\nContent-Length: 62914560\r\n\r\n`,
      );
      await up.closed; // the server closes it (the test's own timeout is the only limit)
      assert.match(up.text(), /^HTTP\/1\.1 403 /);
      assert.match(up.text(), /connection: close/i);
      assert.equal(gw.running.gateway.inFlight, 0);
    } finally {
      await gw.close();
    }
  });

  test("an authenticated body that stalls is refused with 400 RequestTimeout and the connection closed", async () => {
    const gw = await startTestGateway({ bodyTimeout: "0.3s" });
    try {
      const c = await gw.addSource("slow-02");
      const s = signRequest(
        {
          method: "PUT",
          path: `/${c.bucket}/big`,
          query: "",
          headers: { host: gw.host, "content-length": "1000" },
          payloadHash: "UNSIGNED-PAYLOAD",
        },
        { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
        { region: "us-east-1", time: Date.now() },
      );
      const head =
        `PUT /${c.bucket}/big HTTP/1.1\r\n` +
        Object.entries(s.headers)
          .map(([k, v]) => `${k}: ${String(v)}\r\n`)
          .join("") +
        "\r\n";
      const up = await partialUpload(gw, head);
      await up.closed;
      assert.match(up.text(), /^HTTP\/1\.1 400 /);
      assert.match(up.text(), /<Code>RequestTimeout<\/Code>/);
      assert.equal(await gw.running.metadata.objects.get(c.bucket, "big"), undefined);
    } finally {
      await gw.close();
    }
  });

  test("connections beyond maxConnectionsPerClient from one address are closed at once", async () => {
    const gw = await startTestGateway({ maxConnectionsPerClient: 2 });
    const socks: Socket[] = [];
    try {
      const open = async (): Promise<{ sock: Socket; closed: Promise<void> }> => {
        const sock = connect(gw.port, "127.0.0.1");
        socks.push(sock);
        sock.on("error", () => undefined);
        const closed = new Promise<void>((r) => sock.once("close", () => { r(); }));
        await new Promise<void>((r) => sock.once("connect", () => { r(); }));
        return { sock, closed };
      };
      const first = await open();
      await open();
      const third = await open();
      await third.closed;
      // The first two still work.
      let text = "";
      first.sock.on("data", (b: Buffer) => (text += b.toString()));
      first.sock.write(`GET / HTTP/1.1\r\nHost: ${gw.host}\r\n\r\n`);
      for (let i = 0; i < 200 && !text.includes("\r\n\r\n"); i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.match(text, /^HTTP\/1\.1 403 /);
      assert.equal(first.sock.destroyed, false);
    } finally {
      for (const s of socks) s.destroy();
      await gw.close();
    }
  });
});
