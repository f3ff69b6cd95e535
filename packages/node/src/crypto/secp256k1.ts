/**
 * secp256k1 from libsecp256k1 (Bitcoin Core's library, through the `secp256k1` package's N-API
 * binding) for the EVM signatures: members sign decisions with it and the decision chain recovers
 * their addresses, about 40 times faster than @noble/curves in JavaScript (docs/adr/0022-libsecp256k1.md). The
 * results are the same bytes: RFC 6979 nonces, low s. Where the binding does not load (no build
 * for the platform), the protocol package keeps @noble/curves.
 */
import { createRequire } from 'node:module';
import { type Secp256k1Native, useSecp256k1Native } from '@custos/protocol/interop';

/** The part of the binding used here (`secp256k1/bindings`: the native module only, no JavaScript fallback). */
interface Binding {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

let loaded: Secp256k1Native | null | undefined;

/** libsecp256k1's signing and recovery, or null where its binding does not load. */
export function libsecp256k1(): Secp256k1Native | null {
  if (loaded === undefined) {
    try {
      const binding = createRequire(import.meta.url)('secp256k1/bindings') as Binding;
      loaded = {
        sign: (digest, secretKey) => binding.ecdsaSign(digest, secretKey),
        recover: (signature, recid, digest) => binding.ecdsaRecover(signature, recid, digest, false),
      };
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** Makes the protocol package sign and recover EVM signatures with libsecp256k1, if it loads. */
export function installNativeSecp256k1(): void {
  useSecp256k1Native(libsecp256k1() ?? undefined);
}
