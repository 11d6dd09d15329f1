import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CofferError } from "../core/errors.ts";
import { LocalStorage } from "./local.ts";
import type { BackoffOptions } from "./retry.ts";
import type { S3StorageOptions } from "./s3.ts";
import type { Storage } from "./storage.ts";

/** A parsed repository location. */
export type RepoLocation =
  | { kind: "local"; path: string }
  | {
      kind: "s3";
      /** `https://host[:port]` or `http://host[:port]`. */
      endpoint: string;
      bucket: string;
      /** Key prefix inside the bucket without leading/trailing `/`, or `""`. */
      prefix: string;
    };

/** Options for {@link openStorage}. */
export interface OpenStorageOptions {
  /** Environment for AWS_* credentials (never read from `process.env` directly). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base directory for relative local paths (default `process.cwd()`). */
  cwd?: string;
  /** PEM file with extra CA certificate(s) to trust for S3 over HTTPS. */
  caFile?: string;
  /** Pinned SHA-256 fingerprint of the S3 server's TLS certificate. */
  fingerprint?: string;
  /** `"path"` (default for custom endpoints) or `"dns"` (virtual-host) bucket addressing. */
  bucketLookup?: "path" | "dns";
  /** Retry policy for S3. */
  retry?: BackoffOptions;
}

const UNSUPPORTED = [
  "sftp",
  "rest",
  "b2",
  "azure",
  "gs",
  "swift",
  "rclone",
  "http",
  "https",
  "ftp",
];

function bad(url: string, why: string): CofferError {
  return new CofferError("BAD_INPUT", `Invalid repository "${url}": ${why}`);
}

/**
 * Parses a repository location: a local path (optionally `local:PATH`), or restic-style S3
 * `s3:https://host[:port]/bucket[/prefix]`, `s3:http://…`, or `s3:host[:port]/bucket[/prefix]`
 * (HTTPS implied). Throws `BAD_INPUT` with a one-line reason for malformed input.
 */
export function parseRepoUrl(url: string, cwd: string = process.cwd()): RepoLocation {
  if (url.trim() === "") throw bad(url, "empty location");
  if (url.includes("\0")) throw bad(url, "contains a NUL byte");
  if (url.startsWith("local:")) {
    const path = url.slice("local:".length);
    if (path === "") throw bad(url, "missing path after local:");
    return { kind: "local", path: resolve(cwd, path) };
  }
  if (!url.startsWith("s3:")) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (scheme !== undefined && UNSUPPORTED.includes(scheme)) {
      throw bad(url, `unsupported backend "${scheme}:" (use a local path or s3:…)`);
    }
    return { kind: "local", path: resolve(cwd, url) };
  }
  let rest = url.slice(3);
  if (rest.startsWith("//")) rest = rest.slice(2); // s3://host/bucket, a common slip
  const m = /^(https?:\/\/)?([^/?#]*)(.*)$/i.exec(rest);
  const scheme = (m?.[1] ?? "https://").toLowerCase();
  const hostPart = m?.[2] ?? "";
  const pathPart = m?.[3] ?? "";
  if (hostPart.includes("@")) {
    throw bad(
      url,
      "credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    );
  }
  if (hostPart === "") throw bad(url, "expected s3:https://host[:port]/bucket[/prefix]");
  let parsed: URL;
  try {
    parsed = new URL(`${scheme}${hostPart}/`);
  } catch {
    throw bad(url, "expected s3:https://host[:port]/bucket[/prefix]");
  }
  if (/[?#]/.test(pathPart)) throw bad(url, "unexpected query or fragment");
  // Split the raw path ourselves: URL parsing would silently resolve "%2e%2e" segments.
  let segments: string[];
  try {
    segments = pathPart
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s));
  } catch {
    throw bad(url, "invalid percent-encoding in the path");
  }
  const bucket = segments.shift();
  if (bucket === undefined) throw bad(url, "missing bucket name after the host");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(bucket)) {
    throw bad(url, `invalid bucket name "${bucket}"`);
  }
  if (segments.some((s) => s === "." || s === ".."))
    throw bad(url, "prefix must not contain . or ..");
  return {
    kind: "s3",
    endpoint: `${parsed.protocol}//${parsed.host}`,
    bucket,
    prefix: segments.join("/"),
  };
}

/** Guesses the region from an AWS endpoint host (`s3.eu-west-3.amazonaws.com`). */
function regionFromHost(endpoint: string): string | undefined {
  return /s3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(endpoint)?.[1];
}

/**
 * Opens the storage for a repository location (see {@link parseRepoUrl}). S3 credentials
 * come from `env`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`
 * and `AWS_DEFAULT_REGION` (or `AWS_REGION`; default `us-east-1`).
 */
export async function openStorage(url: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const loc = parseRepoUrl(url, options.cwd);
  if (loc.kind === "local") {
    if (options.caFile !== undefined || options.fingerprint !== undefined) {
      throw bad(url, "a TLS CA or fingerprint only applies to s3: repositories");
    }
    return new LocalStorage(loc.path);
  }
  const env = options.env ?? {};
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (
    accessKeyId === undefined ||
    accessKeyId === "" ||
    secretAccessKey === undefined ||
    secretAccessKey === ""
  ) {
    throw new CofferError(
      "BAD_INPUT",
      `Cannot open ${url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3 repositories`,
    );
  }
  const isHttps = loc.endpoint.startsWith("https:");
  if (!isHttps && (options.caFile !== undefined || options.fingerprint !== undefined)) {
    throw bad(url, "a TLS CA or fingerprint needs an https endpoint");
  }
  const isAws = /\.amazonaws\.com(:\d+)?$/.test(loc.endpoint);
  // Loaded only for s3: URLs: the AWS SDK costs ~0.3 s and ~30 MiB to import.
  const { normalizeFingerprint, S3Storage } = await import("./s3.ts");
  const s3: S3StorageOptions = {
    bucket: loc.bucket,
    prefix: loc.prefix,
    region:
      nonEmpty(env.AWS_DEFAULT_REGION) ??
      nonEmpty(env.AWS_REGION) ??
      regionFromHost(loc.endpoint) ??
      "us-east-1",
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(nonEmpty(env.AWS_SESSION_TOKEN) === undefined
        ? {}
        : { sessionToken: env.AWS_SESSION_TOKEN! }),
    },
    forcePathStyle: options.bucketLookup === undefined ? !isAws : options.bucketLookup === "path",
  };
  // For AWS itself let the SDK build regional virtual-host endpoints unless path-style is asked.
  if (!isAws || options.bucketLookup === "path") s3.endpoint = loc.endpoint;
  if (options.fingerprint !== undefined) s3.fingerprint = normalizeFingerprint(options.fingerprint);
  if (options.caFile !== undefined) s3.ca = await readCa(options.caFile);
  if (options.retry !== undefined) s3.retry = options.retry;
  return new S3Storage(s3);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

async function readCa(path: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why =
      code === "ENOENT" ? "not found" : code === "EACCES" ? "permission denied" : String(code);
    throw new CofferError("BAD_INPUT", `Cannot read CA file ${path}: ${why}`, { cause: err });
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CofferError("BAD_INPUT", `Cannot use CA file ${path}: no PEM certificate in it`);
  }
  return pem;
}
