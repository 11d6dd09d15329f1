import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import type { Random } from "../core/deps.ts";
import { systemRandom } from "../core/system.ts";

/** Options for {@link BackoffRetryStrategy}. */
export interface BackoffOptions {
  /** Total attempts including the first (default 6). */
  maxAttempts?: number;
  /** Upper bound of the first retry's delay in ms (default 200); doubles each retry. */
  baseDelayMs?: number;
  /** Cap on a single delay in ms (default 10 000). */
  maxDelayMs?: number;
  /** Randomness for the jitter. */
  random?: Random;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** Network error codes worth a retry: the peer or the path hiccupped. */
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
]);

/** Error names by which S3-compatible servers refuse a request signed at a skewed time. */
const CLOCK_SKEW_NAMES = new Set([
  "RequestTimeTooSkewed",
  "RequestExpired",
  "RequestInTheFuture",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
]);
/** 4xx error names that are hiccups, not answers. */
const TRANSIENT_4XX_NAMES = new Set(["RequestTimeout", "RequestTimeoutException"]);

/**
 * True when an SDK error is worth retrying: 5xx (not 501), throttling, timeouts, connection
 * resets, and a clock-skew refusal right after the SDK corrected its offset from the server's
 * `Date`. Other 4xx answers are final. (The SDK marks *every* error `clockSkewCorrected`, so
 * `TRANSIENT`, while the local clock is more than 4 minutes off the server's: trusting its
 * error type retried each 404 of a `head()` six times.)
 */
export function isRetryable(info: RetryErrorInfo): boolean {
  const err = info.error as
    | {
        code?: unknown;
        name?: unknown;
        $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
      }
    | undefined;
  const status = err?.$metadata?.httpStatusCode;
  // 501 Not Implemented is an answer, not a hiccup (e.g. no conditional writes): never retried.
  if (status === 501) return false;
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
    const name = typeof err?.name === "string" ? err.name : "";
    if (TRANSIENT_4XX_NAMES.has(name)) return true;
    if (err?.$metadata?.clockSkewCorrected !== true) return false;
    // A HEAD answer has no body, so its error has no S3 code: a bare 403 may be the skew.
    return CLOCK_SKEW_NAMES.has(name) || (status === 403 && /^(403|Forbidden|Unknown)/.test(name));
  }
  if (info.errorType !== "CLIENT_ERROR") return true;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return typeof err?.code === "string" && RETRYABLE_CODES.has(err.code);
}

/**
 * An AWS SDK v3 retry strategy: exponential backoff with full jitter (delay uniformly in
 * `[0, min(max, base·2^retry)]`) on 5xx, throttling and connection errors; client errors
 * (4xx) fail at once.
 */
export class BackoffRetryStrategy implements RetryStrategyV2 {
  readonly maxAttempts: number;
  readonly #base: number;
  readonly #max: number;
  readonly #random: Random;
  readonly #onRetry: BackoffOptions["onRetry"];

  constructor(options: BackoffOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.#base = options.baseDelayMs ?? 200;
    this.#max = options.maxDelayMs ?? 10_000;
    this.#random = options.random ?? systemRandom;
    this.#onRetry = options.onRetry;
  }

  /** The jittered delay before retry number `retry` (1-based). */
  delayFor(retry: number): number {
    const ceiling = Math.min(this.#max, this.#base * 2 ** (retry - 1));
    const r = Buffer.from(this.#random(4)).readUInt32LE(0) / 2 ** 32;
    return Math.floor(r * ceiling);
  }

  acquireInitialRetryToken(): Promise<RetryToken> {
    return Promise.resolve(token(0, 0));
  }

  refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retry = previous.getRetryCount() + 1;
    if (retry >= this.maxAttempts || !isRetryable(info)) {
      return Promise.reject(new Error("no more retries"));
    }
    let delay = this.delayFor(retry);
    const hint = info.retryAfterHint?.getTime();
    if (hint !== undefined && Number.isFinite(hint)) {
      // Honour Retry-After within our cap. The SDK gives a Date; we only need a duration.
      delay = Math.max(delay, Math.min(this.#max, hint - Date.now()));
    }
    this.#onRetry?.(retry, delay, info.error);
    return Promise.resolve(token(retry, delay));
  }

  recordSuccess(): void {
    // Stateless: no retry quota to refill.
  }
}

function token(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}
