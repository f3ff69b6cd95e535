/** @custos/protocol/encoding: bytes as hex, UTF-8 and base64url. */
export { fromBase64url, toBase64url } from './b64.js';
export { concatBytes, equalBytes, fromHex, fromUtf8, isHex, toHex, utf8 } from './bytes.js';
