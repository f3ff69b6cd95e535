/** @custos/protocol: everything a Custos peer and a browser agree on. Named exports only. */
export { concatBytes, equalBytes, fromHex, fromUtf8, isHex, toHex, utf8 } from './bytes.js';
export { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from './errors.js';
export { type Sha256, setSha256, sha256 } from './hash.js';
export { canonicalBytes, canonicalize, type JsonValue } from './jcs.js';
