/** @custos/protocol/http: Signed HTTP requests: RFC 9421 message signatures and RFC 9530 content digests. */
export {
  DERIVED_COMPONENTS,
  fieldValue,
  type HttpHeaders,
  type HttpRequestMessage,
  type SignatureParams,
  signatureBase,
  signatureParamsValue,
  targetParts,
} from './rfc9421.js';
export { CONTENT_DIGEST_ALGORITHM, checkContentDigest, contentDigest, contentDigestSha256 } from './rfc9530.js';
export {
  DEFAULT_HTTP_SIGNATURE_VALIDITY_S,
  HTTP_SIGNATURE_ALG,
  HTTP_SIGNATURE_COMPONENTS,
  HTTP_SIGNATURE_LABEL,
  MAX_HTTP_SIGNATURE_VALIDITY_S,
  type SignableRequest,
  type SignatureHeaders,
  type SignRequestOptions,
  signRequest,
} from './sign-request.js';
export {
  DEFAULT_CLOCK_SKEW_S,
  HTTP_SIGNATURE_FAILURES,
  HttpSignatureError,
  type HttpSignatureFailure,
  type RequestVerification,
  type VerifiedRequestSignature,
  type VerifyRequestOptions,
  verifyRequest,
} from './verify-request.js';
