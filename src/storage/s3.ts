import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, type AgentOptions, type RequestOptions } from "node:https";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { Duplex } from "node:stream";
import { CofferError } from "../core/errors.ts";
import { clampRange, validateKey, validatePrefix, validateRange } from "./keys.ts";
import { BackoffRetryStrategy, type BackoffOptions } from "./retry.ts";
import { describeS3Error, s3Status } from "./s3-errors.ts";
import type { ByteRange, ObjectInfo, PutResult, Storage } from "./storage.ts";

/** Where and how to reach an S3 bucket. */
export interface S3StorageOptions {
  /** `https://host:port` or `http://host:port`; omit for AWS itself. */
  endpoint?: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` (default none). */
  prefix?: string;
  region?: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style (`host/bucket/key`) rather than virtual-host (`bucket.host/key`) addressing. */
  forcePathStyle?: boolean;
  /** Extra trusted CA certificate(s) in PEM. */
  ca?: string | Buffer;
  /**
   * Pinned SHA-256 fingerprint of the server's certificate (64 hex digits, colons allowed).
   * When set, the certificate chain and host name are not checked; the fingerprint is.
   */
  fingerprint?: string;
  /** Retry policy: attempts, base delay, jitter randomness. */
  retry?: BackoffOptions;
  /** Per-request socket timeout in ms (default 120 000). */
  requestTimeoutMs?: number;
  /** Parallel sockets per host (default 32). */
  maxSockets?: number;
  /**
   * HEAD before each PUT (default true): skips re-uploading existing objects and keeps
   * `putIfAbsent` correct on servers that ignore `If-None-Match`. Content-addressed keys
   * (see {@link isContentAddressed}) skip it once the server has shown that it honours
   * `If-None-Match: *` (a 412 answer, or coffer-server's `x-coffer-conditional-writes`
   * response header). A server answering 501 to the condition gets HEAD + plain PUT.
   */
  headBeforePut?: boolean;
}

/** Normalises a SHA-256 fingerprint (`AB:CD:…`, `sha256:abcd…`) to 64 lower-case hex digits. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp
    .trim()
    .replace(/^sha-?256[:=]?/i, "")
    .replace(/:/g, "")
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new CofferError(
      "BAD_INPUT",
      `Invalid TLS fingerprint "${fp}": expected a SHA-256 fingerprint of 64 hex digits`,
    );
  }
  return hex;
}

/** Response header by which coffer-server says it honours `If-None-Match: *` atomically. */
export const CONDITIONAL_WRITES_HEADER = "x-coffer-conditional-writes";

/** Prefixes whose object names are the SHA-256 of their bytes (packs, index, snapshots, manifests). */
const CONTENT_ADDRESSED = ["data/", "index/", "snapshots/", "manifests/"];

/**
 * The SHA-256 that a content-addressed key's name claims for its bytes (its last segment,
 * 64 hex digits), or undefined. Sent as the SigV4 payload hash, it spares the SDK hashing
 * the body again; the server still verifies it, and a mismatch is retried with a real hash.
 */
export function claimedSha256(key: string): string | undefined {
  if (!isContentAddressed(key)) return undefined;
  const last = key.slice(key.lastIndexOf("/") + 1);
  return /^[0-9a-f]{64}$/.test(last) ? last : undefined;
}

/**
 * True when `key` (repository-relative) is content-addressed: an existing object under that
 * name already holds these bytes, so a PUT needs no HEAD first.
 */
export function isContentAddressed(key: string): boolean {
  return CONTENT_ADDRESSED.some((p) => key.startsWith(p));
}

/**
 * An https agent that only hands a socket to HTTP after the TLS handshake completed and the
 * peer certificate's SHA-256 fingerprint matched `fingerprint`. Chain and host-name
 * checks are replaced by the pin (a self-signed gateway certificate is the normal case), so
 * `checkServerIdentity` alone would not do: Node never calls it for an untrusted chain.
 */
class PinnedAgent extends HttpsAgent {
  readonly #fingerprint: string;

  constructor(fingerprint: string, options: AgentOptions) {
    super(options);
    this.#fingerprint = fingerprint;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = tlsConnect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    const fail = (err: Error): void => {
      socket.destroy();
      callback?.(err, socket);
    };
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      socket.off("error", fail);
      const got = socket.getPeerCertificate().fingerprint256.replace(/:/g, "").toLowerCase();
      if (got !== this.#fingerprint) {
        fail(
          Object.assign(
            new Error(`TLS certificate fingerprint mismatch: server presented sha256 ${got}`),
            { code: "ERR_TLS_FINGERPRINT_MISMATCH" },
          ),
        );
        return;
      }
      callback?.(null, socket);
    });
    // Handing the socket over only through the callback keeps HTTP from writing a request
    // before the pin is checked.
    return undefined;
  }
}

/**
 * A {@link Storage} over an S3 bucket (AWS, MinIO, Ceph, the coffer gateway) with the AWS
 * SDK v3. `putIfAbsent` uses `If-None-Match: *` (412 → `'exists'`); ranges use `Range`;
 * `list` pages through ListObjectsV2. Retries back off exponentially with jitter.
 */
export class S3Storage implements Storage {
  readonly location: string;
  readonly client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #headBeforePut: boolean;
  /** False once the server answered 501 to `If-None-Match: *` (then: HEAD + plain PUT). */
  #conditional = true;
  /** True once the server proved it honours `If-None-Match: *` (412, or its header). */
  #honoursConditional = false;
  readonly #agents: { destroy(): void }[] = [];

  constructor(options: S3StorageOptions) {
    const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix !== "") validatePrefix(`${prefix}/`);
    this.#bucket = options.bucket;
    this.#prefix = prefix === "" ? "" : `${prefix}/`;
    this.#headBeforePut = options.headBeforePut ?? true;
    const where = options.endpoint ?? "https://s3.amazonaws.com";
    this.location = `s3:${where}/${options.bucket}${prefix === "" ? "" : `/${prefix}`}`;

    const maxSockets = options.maxSockets ?? 32;
    const tls: AgentOptions = { keepAlive: true, maxSockets };
    if (options.ca !== undefined) tls.ca = options.ca;
    const httpsAgent =
      options.fingerprint === undefined
        ? new HttpsAgent(tls)
        : new PinnedAgent(normalizeFingerprint(options.fingerprint), tls);
    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
    this.#agents.push(httpsAgent, httpAgent);

    const retryStrategy = new BackoffRetryStrategy(options.retry);
    const config: S3ClientConfig = {
      region: options.region ?? "us-east-1",
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      retryStrategy,
      maxAttempts: retryStrategy.maxAttempts,
      requestHandler: {
        httpAgent,
        httpsAgent,
        connectionTimeout: 30_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    this.client = new S3Client(config);
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const headers = (out.response as { headers?: Record<string, string | undefined> }).headers;
        if (headers?.[CONDITIONAL_WRITES_HEADER] !== undefined) this.#honoursConditional = true;
        return out;
      },
      { step: "deserialize", name: "cofferConditionalWrites", override: true },
    );
  }

  #key(key: string): string {
    validateKey(key);
    return this.#prefix + key;
  }

  #fail(err: unknown, verb: string, key: string): CofferError {
    return describeS3Error(err, `Cannot ${verb} ${key} in ${this.location}`, this.#bucket);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const full = this.#key(key);
    if (range !== undefined) validateRange(key, range);
    if (range?.length === 0) {
      // HTTP cannot express an empty range; only existence matters.
      if ((await this.head(key)) === undefined) throw notFound(key);
      return new Uint8Array(0);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: full,
          ...(range === undefined
            ? {}
            : { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` }),
        }),
      );
      const body =
        out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      if (range !== undefined && out.ContentRange === undefined) {
        // The server ignored Range and sent the whole object.
        const { start, end } = clampRange(range, body.length);
        return body.subarray(start, end);
      }
      return body;
    } catch (err) {
      const status = s3Status(err);
      if (status === 416 && range !== undefined) return new Uint8Array(0);
      if (status === 404 && isNoSuchKey(err)) throw notFound(key, err);
      throw this.#fail(err, "read", key);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<PutResult> {
    return this.#put(key, body, claimedSha256(key));
  }

  async #put(key: string, body: Uint8Array, payloadSha256: string | undefined): Promise<PutResult> {
    const full = this.#key(key);
    const conditional = this.#conditional;
    // A content-addressed name holds these very bytes wherever it exists: with a server that
    // honours the condition, the conditional PUT alone answers "exists" (412) in one request.
    const skipHead = this.#honoursConditional && isContentAddressed(key);
    const headFirst = !conditional || (this.#headBeforePut && !skipHead);
    if (headFirst && (await this.head(key)) !== undefined) return "exists";
    try {
      const command = new PutObjectCommand({
        Bucket: this.#bucket,
        Key: full,
        // A view of the caller's bytes, not a copy.
        Body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        ContentLength: body.byteLength,
        ContentType: "application/octet-stream",
        ...(conditional ? { IfNoneMatch: "*" } : {}),
      });
      if (payloadSha256 !== undefined) {
        // The signer takes a payload hash already in the headers instead of hashing the body.
        command.middlewareStack.add(
          (next) => (args) => {
            (args.request as { headers: Record<string, string> }).headers["x-amz-content-sha256"] =
              payloadSha256;
            return next(args);
          },
          { step: "build", name: "cofferPayloadSha256" },
        );
      }
      await this.client.send(command);
      return "created";
    } catch (err) {
      const status = s3Status(err);
      // 412: the key exists. 409: a concurrent conditional write won the race.
      if (status === 412) {
        this.#honoursConditional = true;
        return "exists";
      }
      if (status === 409 && (await this.head(key)) !== undefined) return "exists";
      if (status === 501 && conditional) {
        // The server does not do conditional writes: HEAD + plain PUT from now on.
        this.#conditional = false;
        return this.#put(key, body, payloadSha256);
      }
      if (payloadSha256 !== undefined && isPayloadHashMismatch(err)) {
        // The name was not the hash of these bytes after all: let the SDK hash them.
        return this.#put(key, body, undefined);
      }
      throw this.#fail(err, "store", key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const full = this.#key(key);
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: full }),
      );
      return { key, size: out.ContentLength ?? 0 };
    } catch (err) {
      // HEAD errors have no body, so NoSuchKey and NoSuchBucket both look like "NotFound".
      if (s3Status(err) === 404) return undefined;
      throw this.#fail(err, "stat", key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw this.#fail(err, "list", prefix === "" ? "/" : prefix);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.#prefix)) continue;
        yield { key: o.Key.slice(this.#prefix.length), size: o.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const full = this.#key(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: full }));
    } catch (err) {
      if (s3Status(err) === 404 && isNoSuchKey(err)) return;
      throw this.#fail(err, "delete", key);
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    for (const agent of this.#agents) agent.destroy();
    return Promise.resolve();
  }
}

function notFound(key: string, cause?: unknown): CofferError {
  return new CofferError("NOT_FOUND", `Cannot read ${key}: not found`, { cause });
}

function isPayloadHashMismatch(err: unknown): boolean {
  const name = (err as { name?: unknown; Code?: unknown } | null)?.name;
  return s3Status(err) === 400 && name === "XAmzContentSHA256Mismatch";
}

function isNoSuchKey(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "NoSuchKey" || name === "NotFound";
}
