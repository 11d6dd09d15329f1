import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { isCofferError } from "../../core/errors.ts";
import { assertAllStored, readPipe } from "./pipe-source.ts";

async function drain(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of src) parts.push(p);
  return Buffer.concat(parts);
}

test("readPipe() keeps the output of a command that exited before anyone read it", async () => {
  const child = spawn("sh", ["-c", "printf hello"], { stdio: ["ignore", "pipe", "pipe"] });
  const out = readPipe(child.stdout);
  // Node resumes unread stdio streams once the child has exited: wait past that.
  await once(child, "exit");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await drain(out)).toString(), "hello");
  assert.equal(out.bytes, 5);
});

test("a child's stdout read only after it exited loses its bytes (the bug readPipe() avoids)", async () => {
  // Documents Node's behaviour that made `--stdin-from-command -- echo hello` store 0 bytes.
  const child = spawn("sh", ["-c", "printf hello"], { stdio: ["ignore", "pipe", "pipe"] });
  await once(child, "exit");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await drain(child.stdout as AsyncIterable<Uint8Array>)).length, 0);
});

test("readPipe() keeps back-pressure and the last bytes of a large output", async () => {
  const child = spawn("sh", ["-c", "head -c 3000000 /dev/zero; printf END"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = readPipe(child.stdout, 8);
  await new Promise((r) => setTimeout(r, 100));
  // The child cannot finish while nobody reads: the pipe is full.
  assert.equal(child.exitCode, null);
  const all = await drain(out);
  assert.equal(all.length, 3_000_003);
  assert.equal(out.bytes, 3_000_003);
  assert.equal(out.tail().toString("latin1"), "\0\0\0\0\0END");
});

test("readPipe() can be iterated only once", () => {
  const child = spawn("true", [], { stdio: ["ignore", "pipe", "pipe"] });
  const out = readPipe(child.stdout);
  out[Symbol.asyncIterator]();
  assert.throws(
    () => out[Symbol.asyncIterator](),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  out.discard();
});

test("assertAllStored() refuses when stored bytes differ from the bytes read", () => {
  assertAllStored("x", 5, 5);
  assert.throws(
    () => {
      assertAllStored("Command echo hello", 6, 0);
    },
    (e) =>
      isCofferError(e, "CORRUPT") &&
      e.message ===
        "Command echo hello: read 6 bytes from the command but stored 0; nothing was committed",
  );
});
