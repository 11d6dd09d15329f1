// Worker thread of restore: decrypts, decompresses and verifies the blobs of one ranged pack
// read (the range's bytes are transferred in), and transfers each plaintext back.
import { parentPort, workerData } from "node:worker_threads";
import { isCofferError } from "../core/errors.ts";
import { decodeBlob } from "../format/blob.ts";
import { masterKeyFromBytes } from "../format/master-key.ts";
import type { DecodeJob } from "./restore-decoder.ts";

const master = masterKeyFromBytes(workerData as Uint8Array);

parentPort!.on("message", (msg: { jobId: number; payload: DecodeJob }) => {
  const { jobId, payload } = msg;
  const bytes = new Uint8Array(payload.bytes);
  payload.blobs.forEach(([id, start, length, flags, rawLength], index) => {
    try {
      const raw = decodeBlob(master, "data", bytes.subarray(start, start + length), flags, id, rawLength);
      const out = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : Buffer.from(raw);
      parentPort!.postMessage({ t: "blob", jobId, index, raw: out.buffer }, [out.buffer as ArrayBuffer]);
    } catch (err) {
      parentPort!.postMessage({ t: "bad", jobId, index, code: isCofferError(err) ? err.code : "CORRUPT", message: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort!.postMessage({ t: "done", jobId });
});
