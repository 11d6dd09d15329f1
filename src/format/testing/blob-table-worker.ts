// Worker used by blob-table.test.ts: opens a shared BlobTable read-only and probes it.
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { BlobTable, type BlobTableHandle } from "../blob-table.ts";

const { handle, n } = workerData as { handle: BlobTableHandle; n: number };
const t = BlobTable.fromShared(handle);
const id = (i: number) => createHash("sha256").update(String(i)).digest();
let found = 0;
for (let i = 0; i < n; i++) if (t.has(i % 5 === 0 ? "tree" : "data", id(i))) found++;
parentPort?.postMessage({
  found,
  missing: t.has("data", id(123456)),
  off: t.get("data", id(7))?.offset,
});
