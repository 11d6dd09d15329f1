// Worker thread of restore: decrypts, decompresses and verifies the blobs of one ranged pack
// read. The range's bytes arrive in a SharedArrayBuffer; plaintexts are written one after the
// other into a second SharedArrayBuffer; only offsets and error messages travel back. Imports
// only what decoding needs (restore-blob.ts and the format modules under it).
import { parentPort, workerData } from "node:worker_threads";
import { masterKeyFromBytes } from "../../format/master-key.ts";
import { BlobDecoder, decodeRange } from "./blob.ts";
import type { DecodeJob } from "./blob.ts";

const decoder = new BlobDecoder(masterKeyFromBytes(workerData as Uint8Array));

parentPort!.on("message", (msg: { jobId: number; payload: DecodeJob }) => {
  const { jobId, payload } = msg;
  const results = decodeRange(decoder, payload);
  parentPort!.postMessage({ t: "result", jobId, results });
  parentPort!.postMessage({ t: "done", jobId });
});
