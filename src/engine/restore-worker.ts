// Worker thread of restore: decrypts, decompresses and verifies the blobs of one ranged pack
// read. The range's bytes arrive in a SharedArrayBuffer; plaintexts are written one after the
// other into a second SharedArrayBuffer; only offsets and error messages travel back.
import { parentPort, workerData } from "node:worker_threads";
import { isCofferError } from "../core/errors.ts";
import { masterKeyFromBytes } from "../format/master-key.ts";
import { BlobDecoder } from "./restore-blob.ts";
import type { DecodeJob, DecodeResult } from "./restore-decoder.ts";

const decoder = new BlobDecoder(masterKeyFromBytes(workerData as Uint8Array));

parentPort!.on("message", (msg: { jobId: number; payload: DecodeJob }) => {
  const { jobId, payload } = msg;
  const input = Buffer.from(payload.input, 0, payload.inputLength);
  const out = Buffer.from(payload.output);
  const results: DecodeResult[] = [];
  let pos = 0;
  for (const [id, start, length, flags, rawLength] of payload.blobs) {
    try {
      if (pos + rawLength + 1 > out.length) throw new Error("output area too small");
      decoder.decode(
        id,
        input.subarray(start, start + length),
        flags,
        rawLength,
        out.subarray(pos),
      );
      results.push(pos);
      pos += rawLength;
    } catch (err) {
      results.push({
        code: isCofferError(err) ? err.code : "CORRUPT",
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  parentPort!.postMessage({ t: "result", jobId, results });
  parentPort!.postMessage({ t: "done", jobId });
});
