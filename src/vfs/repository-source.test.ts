import assert from "node:assert/strict";
import { test } from "node:test";
import { CofferError } from "../core/errors.ts";
import { patiently } from "./repository-source.ts";

test("patiently() retries a read only while it fails on the network, with the given waits", async () => {
  const waits: number[] = [];
  const sleep = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };
  let calls = 0;
  const flaky = (): Promise<string> =>
    ++calls < 3
      ? Promise.reject(new CofferError("NETWORK", "connection refused"))
      : Promise.resolve("data");
  assert.equal(await patiently(flaky, [5, 10, 20], sleep), "data");
  assert.deepEqual(waits, [5, 10]);
  waits.length = 0;
  await assert.rejects(
    patiently(
      () => Promise.reject(new CofferError("CORRUPT", "authentication failed")),
      [5],
      sleep,
    ),
    /authentication failed/,
  );
  assert.deepEqual(waits, [], "damage is final");
  await assert.rejects(
    patiently(() => Promise.reject(new CofferError("NETWORK", "down")), [5, 10], sleep),
    /down/,
  );
  assert.deepEqual(waits, [5, 10], "gives up after the last wait");
});
