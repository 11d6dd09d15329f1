#!/usr/bin/env node
// Load generator for scripts/bench-gateway.mjs (runs in its own process, like a real client):
// C concurrent clients PUT N objects of S bytes each, then GET them back, with the AWS SDK v3.
//   node scripts/bench-gateway-load.mjs ENDPOINT BUCKET AKID SECRET N SIZE CONCURRENCY PREFIX
// Prints one JSON line: { put: {n, seconds, rate, p50, p99}, get: {...} } (latencies in ms).
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { Agent } from "node:http";

const [endpoint, bucket, accessKeyId, secretAccessKey, nArg, sizeArg, concArg, prefix] =
  process.argv.slice(2);
const n = Number(nArg);
const size = Number(sizeArg);
const conc = Number(concArg);
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey },
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: conc }) },
  maxAttempts: 1,
});
const body = randomBytes(size);
const keys = Array.from({ length: n }, (_, i) => `${prefix}/${i.toString(16).padStart(8, "0")}`);

async function phase(op) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const t = performance.now();
        if (op === "put") {
          // Each object unique (first 8 bytes = index), as content-addressed clients write.
          const b = Buffer.from(body);
          b.writeUInt32LE(next, 0);
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: b }));
        } else {
          const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          await r.Body.transformToByteArray();
        }
        lat.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    n: lat.length,
    seconds: +seconds.toFixed(2),
    rate: Math.round(lat.length / seconds),
    p50: +q(0.5).toFixed(1),
    p99: +q(0.99).toFixed(1),
  };
}

const put = await phase("put");
const get = await phase("get");
console.log(JSON.stringify({ put, get }));
s3.destroy();
