/**
 * Pure SigV4 for the Coffer gateway: request verification (header auth and presigned URLs),
 * aws-chunked decoding, S3 flexible checksums, and a small signer for tests and tools.
 * @module
 */
export { verifyRequest, MAX_PRESIGNED_EXPIRES_SECONDS } from "./verify-request.ts";
export type {
  IncomingRequest,
  SecretRecord,
  VerifyOptions,
  VerifyResult,
  VerifySuccess,
  VerifyFailure,
} from "./verify-request.ts";
export { createBodyVerifier } from "./body-verifier.ts";
export type { BodyAuth, BodyResult, BodyVerifier, BodyVerifierOptions } from "./body-verifier.ts";
export { AwsChunkedDecoder } from "./chunked-decoder.ts";
export type {
  ChunkSigning,
  ChunkedDecoderOptions,
  ChunkedDecodeResult,
} from "./chunked-decoder.ts";
export { SigV4Error, isSigV4Error } from "./errors.ts";
export type { SigV4ErrorCode } from "./errors.ts";
export { payloadModeOf, isStreaming, PAYLOAD_VALUES } from "./payload-mode.ts";
export type { PayloadMode } from "./payload-mode.ts";
export type { HeaderMap } from "./headers.ts";
export { canonicalRequest, canonicalHeaders } from "./canonical-request.ts";
export { canonicalUri } from "./canonical-uri.ts";
export { canonicalQuery, parseQuery } from "./canonical-query.ts";
export { uriEncode, percentDecode } from "./uri-encode.ts";
export {
  deriveSigningKey,
  stringToSign,
  chunkStringToSign,
  trailerStringToSign,
  signature,
  signaturesEqual,
  sha256Hex,
  scopeString,
  EMPTY_SHA256,
} from "./signing.ts";
export type { Scope } from "./signing.ts";
export { parseAmzDate, formatAmzDate } from "./amz-date.ts";
export {
  createChecksum,
  checksumBase64,
  checksumHeaderName,
  algorithmOfHeader,
  parseChecksumAlgorithm,
  CHECKSUM_ALGORITHMS,
} from "./checksum.ts";
export type { Checksum, ChecksumAlgorithm } from "./checksum.ts";
export { Crc32, crc32 } from "./crc32.ts";
export { Crc32c, crc32c } from "./crc32c.ts";
export { Crc64Nvme, crc64nvme } from "./crc64nvme.ts";
export { signRequest } from "./sign-request.ts";
export type { Credentials, RequestToSign, SignOptions, SignedRequest } from "./sign-request.ts";
export { presignUrl } from "./presign-url.ts";
export type { PresignOptions, PresignedUrl, RequestToPresign } from "./presign-url.ts";
export { encodeChunked, chunkedRequestHeaders, streamingContentSha256 } from "./encode-chunked.ts";
export type { EncodeChunkedOptions, EncodedChunked } from "./encode-chunked.ts";
