/** @custos/protocol/crypto: Keys and hashes: Ed25519 signing and verifying, did:key identifiers, SHA-256. */

export { type Sha256, setSha256, sha256 } from '../hash.js';
export { didFromPublicKey, ed25519KeyWeakness, isDidKey, publicKeyFromDid } from './didkey.js';
export {
  nobleSigner,
  nobleVerifier,
  PUBLIC_KEY_LENGTH,
  publicKeyOf,
  randomSecretKey,
  SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  type Signer,
  type Verifier,
} from './ed25519.js';
