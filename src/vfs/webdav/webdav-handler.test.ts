import assert from "node:assert/strict";
import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FakeClock } from "../../core/deps.ts";
import { BrowseTree } from "../browse-tree.ts";
import { localTimeFormatter } from "../layout.ts";
import { FakeSource, node } from "../testing-fake-source.ts";
import { webdavHandler } from "./webdav-handler.ts";

test("webdavHandler ends a download whose client went away mid-file (nothing left waiting)", async () => {
  const src = new FakeSource();
  const blobs = Array.from({ length: 16 }, (_, i) => src.blob(Buffer.alloc(1024 * 1024, i)));
  const root = src.tree([node("big", { type: "file", size: 16 * 1024 * 1024, content: blobs })]);
  src.snapshot("5".repeat(64), "2026-01-01T00:00:00Z", root);
  const tree = await BrowseTree.open(src, {
    clock: new FakeClock(0),
    formatTime: localTimeFormatter(() => 0),
  });
  let done = 0;
  const server = createServer(
    webdavHandler(tree, {
      users: undefined,
      log: () => undefined,
      now: () => 0,
      onDone: () => done++,
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = get(`http://127.0.0.1:${String(port)}/latest/big`, (res) => {
        assert.equal(res.statusCode, 200);
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (err) => {
        if ((err as NodeJS.ErrnoException).code !== "ECONNRESET") reject(err);
      });
    });
    for (let i = 0; i < 200 && done === 0; i++) await sleep(25);
    assert.equal(done, 1, "the handler finished after the client left");
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
