import { CofferError } from "../core/errors.ts";

/** A plain JSON object (as produced by `JSON.parse`). */
export type JsonObject = Record<string, unknown>;

/** Parses UTF-8 JSON bytes that must be an object; CORRUPT (or `code`) otherwise. */
export function parseJsonObject(
  bytes: Uint8Array | string,
  what: string,
  code: "CORRUPT" | "BAD_INPUT" = "CORRUPT",
): JsonObject {
  let v: unknown;
  try {
    const text =
      typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    v = JSON.parse(text);
  } catch (err) {
    throw new CofferError(code, `Cannot read ${what}: invalid JSON`, { cause: err });
  }
  if (!isObject(v)) throw new CofferError(code, `Cannot read ${what}: not a JSON object`);
  return v;
}

/** True for a non-null, non-array object. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Field readers that throw one-line errors naming the object and field.
 * `code` is CORRUPT for authenticated objects and BAD_INPUT for untrusted input.
 */
export class Fields {
  constructor(
    readonly obj: JsonObject,
    readonly what: string,
    readonly code: "CORRUPT" | "BAD_INPUT" = "CORRUPT",
  ) {}

  fail(field: string, why: string): never {
    throw new CofferError(this.code, `Cannot read ${this.what}: field "${field}" ${why}`);
  }

  /** Rejects keys outside `allowed`. */
  only(allowed: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!allowed.includes(k)) this.fail(k, "is not allowed");
    }
  }

  has(field: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.obj, field) && this.obj[field] !== undefined;
  }

  string(field: string, maxLength = 4096): string {
    const v = this.obj[field];
    if (typeof v !== "string") this.fail(field, "must be a string");
    if (v.length > maxLength) this.fail(field, `is longer than ${maxLength} characters`);
    return v;
  }

  optString(field: string, maxLength = 4096): string | undefined {
    return this.has(field) ? this.string(field, maxLength) : undefined;
  }

  /** A non-negative safe integer at most `max`. */
  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
      this.fail(field, `must be an integer in 0..${max}`);
    }
    return v;
  }

  optUint(field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.has(field) ? this.uint(field, max) : undefined;
  }

  /** A 64-character lower-case hex ID. */
  id(field: string): string {
    const v = this.obj[field];
    if (typeof v !== "string" || !isHexId(v)) this.fail(field, "must be a 64-character hex ID");
    return v;
  }

  optId(field: string): string | undefined {
    return this.has(field) ? this.id(field) : undefined;
  }

  array(field: string, maxLength = Number.MAX_SAFE_INTEGER): unknown[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, "must be an array");
    if (v.length > maxLength) this.fail(field, `has more than ${maxLength} items`);
    return v;
  }

  stringArray(field: string, maxItems = 10000, maxLength = 4096): string[] {
    const arr = this.array(field, maxItems);
    for (const s of arr) {
      if (typeof s !== "string" || s.length > maxLength) this.fail(field, "must hold strings");
    }
    return arr as string[];
  }

  object(field: string): Fields {
    const v = this.obj[field];
    if (!isObject(v)) this.fail(field, "must be an object");
    return new Fields(v, this.what, this.code);
  }

  /** A decimal string of an integer (e.g. nanoseconds), possibly negative. */
  decimal(field: string): bigint {
    const v = this.obj[field];
    if (typeof v !== "string" || !/^-?(0|[1-9][0-9]{0,25})$/.test(v))
      this.fail(field, "must be a decimal string");
    return BigInt(v);
  }
}

/** True for a 64-character lower-case hex ID. */
export function isHexId(s: string): boolean {
  return s.length === 64 && /^[0-9a-f]{64}$/.test(s);
}
