/** How the request body is bound to the signature (from `x-amz-content-sha256`). */
export type PayloadMode =
  | "hex"
  | "unsigned"
  | "streaming-signed"
  | "streaming-unsigned-trailer"
  | "streaming-signed-trailer";

/** `x-amz-content-sha256` values and their modes. */
export const PAYLOAD_VALUES = {
  UNSIGNED: "UNSIGNED-PAYLOAD",
  STREAMING_SIGNED: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  STREAMING_UNSIGNED_TRAILER: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  STREAMING_SIGNED_TRAILER: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
} as const;

/** Classifies an `x-amz-content-sha256` value, or `undefined` when it is not a supported one. */
export function payloadModeOf(value: string): PayloadMode | undefined {
  if (/^[0-9a-f]{64}$/.test(value)) return "hex";
  switch (value) {
    case PAYLOAD_VALUES.UNSIGNED:
      return "unsigned";
    case PAYLOAD_VALUES.STREAMING_SIGNED:
      return "streaming-signed";
    case PAYLOAD_VALUES.STREAMING_UNSIGNED_TRAILER:
      return "streaming-unsigned-trailer";
    case PAYLOAD_VALUES.STREAMING_SIGNED_TRAILER:
      return "streaming-signed-trailer";
    default:
      return undefined;
  }
}

/** True for the aws-chunked modes. */
export function isStreaming(mode: PayloadMode): boolean {
  return mode.startsWith("streaming-");
}
