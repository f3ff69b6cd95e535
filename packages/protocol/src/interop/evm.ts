/**
 * The EVM side of a cross-chain transaction, as the Solidity participant contract checks it
 * (`CustosParticipant.sol`, docs/interop.md): the digests Custos members sign with their secp256k1
 * keys, Ethereum-style 65-byte signatures (r || s || v), signer addresses and certificates.
 *
 * The digests are `keccak256(abi.encode(...))` exactly as the contract computes them, built here
 * from 32-byte words so a browser checks a certificate with the same code as a peer.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, describe, fromHex, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { canonicalize } from '../jcs.js';

/** Domain tags, the same strings as the contract's `DECISION_TAG` and `MEMBERS_TAG`. */
export const EVM_DECISION_DOMAIN = 'custos/evm/decision/v2';
export const EVM_MEMBERS_DOMAIN = 'custos/evm/members/v1';
/** Domain of a member's proof that it holds the secp256k1 key it registers (`member.setEvmKey`). */
export const EVM_KEY_DOMAIN = 'custos/evm/key/v1';
/** The contract's `MAX_MEMBERS`. */
export const EVM_MAX_MEMBERS = 64;

/** `keccak256` of each tag, as the contract's constants: hashed once, not for every digest. */
const DECISION_TAG_HASH = keccak_256(utf8(EVM_DECISION_DOMAIN));
const MEMBERS_TAG_HASH = keccak_256(utf8(EVM_MEMBERS_DOMAIN));

/** A 20-byte EVM address, `0x` and 40 lower-case hex digits. */
export type EvmAddress = `0x${string}`;

/** Where a certificate is valid: one EVM chain, one participant contract. */
export interface EvmDomain {
  /** EIP-155 chain id. */
  chainId: bigint | number;
  contract: string;
}

/** A Custos decision for an EVM leg, signed by a quorum of the member set of `epoch`. */
export interface EvmDecisionCertificate {
  xtxId: string;
  /** The planned leg's `legHash` (`0x` and 64 hex digits): the lock the decision applies to. */
  legHash: string;
  commit: boolean;
  epoch: number;
  /** 65-byte signatures as `0x` hex, sorted by signer address (the contract requires it). */
  signatures: `0x${string}`[];
}

/**
 * `keccak256(abi.encode(DECISION_TAG, chainId, contract, xtxId, legHash, commit, epoch))`: the
 * leg's hash binds the decision to the planned lock, not to another leg prepared under the same id.
 */
export function evmDecisionDigest(
  domain: EvmDomain,
  xtxId: string,
  legHash: string,
  commit: boolean,
  epoch: number,
): Uint8Array {
  return keccak_256(
    concatBytes(
      DECISION_TAG_HASH,
      uint256(domain.chainId, 'chainId'),
      addressWord(domain.contract, 'contract'),
      bytes32(xtxId, 'xtxId'),
      hex(legHash, 32, 'legHash'),
      uint256(commit ? 1 : 0, 'commit'),
      uint256(epoch, 'epoch'),
    ),
  );
}

/** `keccak256(abi.encode(MEMBERS_TAG, chainId, contract, epoch, members, threshold))`. */
export function evmMembersDigest(domain: EvmDomain, epoch: number, members: string[], threshold: number): Uint8Array {
  if (!Array.isArray(members) || members.length > EVM_MAX_MEMBERS) {
    throw new ProtocolError('BAD_ENCODING', `members: expected an array of at most ${EVM_MAX_MEMBERS} addresses`);
  }
  // abi.encode: six head words, the array's one an offset (6 * 32) to its length and elements.
  return keccak_256(
    concatBytes(
      MEMBERS_TAG_HASH,
      uint256(domain.chainId, 'chainId'),
      addressWord(domain.contract, 'contract'),
      uint256(epoch, 'epoch'),
      uint256(6 * 32, 'offset'),
      uint256(threshold, 'threshold'),
      uint256(members.length, 'members.length'),
      ...members.map((m, i) => addressWord(m, `members[${i}]`)),
    ),
  );
}

/** What an EVM key signs to prove possession: it is `address`, of `member`, on Custos chain `chainId`. */
export interface EvmKeyStatement {
  chainId: string;
  member: string;
  address: string;
}

/** `keccak256(EVM_KEY_DOMAIN || 0x00 || canonical JSON of the statement)`. */
export function evmKeyProofDigest(s: EvmKeyStatement): Uint8Array {
  const body = canonicalize({ address: s.address, chainId: s.chainId, member: s.member });
  return keccak_256(concatBytes(utf8(EVM_KEY_DOMAIN), Uint8Array.of(0), utf8(body)));
}

/** The address of `secretKey` and its proof of possession for `member` on Custos chain `chainId`. */
export function proveEvmKey(
  secretKey: Uint8Array,
  s: Omit<EvmKeyStatement, 'address'>,
): { address: EvmAddress; proof: `0x${string}` } {
  const address = evmAddress(secretKey);
  return { address, proof: evmSign(evmKeyProofDigest({ ...s, address }), secretKey) };
}

/** True if `proof` is the signature of `s.address` over the statement. */
export function verifyEvmKeyProof(s: EvmKeyStatement, proof: unknown): boolean {
  if (typeof proof !== 'string') return false;
  try {
    return evmRecover(evmKeyProofDigest(s), proof) === s.address;
  } catch {
    return false;
  }
}

/** True for a lower-case `0x` EVM address (how Custos stores them). */
export function isEvmAddress(s: unknown): s is EvmAddress {
  return typeof s === 'string' && /^0x[0-9a-f]{40}$/.test(s);
}

/** The EVM address of a secp256k1 public key (33 or 65 bytes) or secret key (32 bytes). */
export function evmAddress(key: Uint8Array): EvmAddress {
  const pub = key.length === 32 ? secp256k1.getPublicKey(key, false) : secp256k1.Point.fromBytes(key).toBytes(false);
  return `0x${toHex(keccak_256(pub.subarray(1)).subarray(12))}`;
}

/** A new secp256k1 secret key (32 bytes) from the platform's secure random source. */
export function evmSecretKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/**
 * The secp256k1 signing and recovery of a platform library (libsecp256k1 in a Node.js process, see
 * the node package): the same results as @noble/curves, which is used without one (browsers).
 */
export interface Secp256k1Native {
  /** The RFC 6979 signature of a 32-byte digest: `r || s` (64 bytes, low s) and the recovery bit. */
  sign(digest: Uint8Array, secretKey: Uint8Array): { signature: Uint8Array; recid: number };
  /** The uncompressed public key (65 bytes) that `r || s` with recovery bit `recid` recovers; throws if none. */
  recover(signature: Uint8Array, recid: number, digest: Uint8Array): Uint8Array;
}

let native: Secp256k1Native | undefined;

/**
 * Signs and recovers with `impl` from now on in this process (undefined: @noble/curves again). The
 * signatures and addresses are the same; only the time differs (about 40 times less).
 */
export function useSecp256k1Native(impl: Secp256k1Native | undefined): void {
  native = impl;
}

/** True while a platform library signs and recovers (`useSecp256k1Native`). */
export function secp256k1IsNative(): boolean {
  return native !== undefined;
}

/** Signs a 32-byte digest as Ethereum does: `r || s || v`, low s, v = 27 + recovery bit. */
export function evmSign(digest: Uint8Array, secretKey: Uint8Array): `0x${string}` {
  if (native !== undefined) {
    if (digest.length !== 32) throw new ProtocolError('BAD_ENCODING', 'digest: expected 32 bytes');
    const { signature, recid } = native.sign(digest, secretKey);
    return `0x${toHex(signature)}${toHex(Uint8Array.of(27 + recid))}`;
  }
  const rec = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: 'recovered' });
  return `0x${toHex(rec.subarray(1, 65))}${toHex(Uint8Array.of(27 + (rec[0] as number)))}`;
}

/**
 * The address that signed `digest`, as `ecrecover` finds it; throws BAD_SIGNATURE for a malformed or high-s signature.
 *
 * With `expected` (the address the caller will compare the result with, e.g. a member's registered
 * key), the check is faster once that address has been recovered before: it verifies the signature
 * against the address's public key, kept with multiplication tables, instead of recovering a key.
 * The result is the same in every case: `expected` when `ecrecover` would return it, and otherwise
 * whatever the full recovery finds (or throws). With a platform library (`useSecp256k1Native`),
 * every check is a full recovery, which is then faster than that check.
 */
export function evmRecover(digest: Uint8Array, signature: string, expected?: string): EvmAddress {
  const sig = hex(signature, 65, 'signature');
  const v = sig[64] as number;
  if (v !== 27 && v !== 28) throw new ProtocolError('BAD_SIGNATURE', `signature: expected v 27 or 28, got ${v}`);
  if (expected !== undefined && native === undefined && signedBy(digest, sig, expected)) return expected as EvmAddress;
  const parsed = secp256k1.Signature.fromBytes(concatBytes(Uint8Array.of(v - 27), sig.subarray(0, 64)), 'recovered');
  if (parsed.hasHighS()) throw new ProtocolError('BAD_SIGNATURE', 'signature: expected a low s value');
  if (native !== undefined) {
    // r and s were checked above (in range, s low), as the recovery below does not check s.
    let pub: Uint8Array;
    try {
      pub = native.recover(sig.subarray(0, 64), v - 27, digest);
    } catch (e) {
      throw new ProtocolError('BAD_SIGNATURE', 'signature: no public key recovers from it', { cause: e });
    }
    return `0x${toHex(keccak_256(pub.subarray(1)).subarray(12))}`;
  }
  let key: InstanceType<typeof secp256k1.Point>;
  try {
    key = parsed.recoverPublicKey(digest);
  } catch (e) {
    throw new ProtocolError('BAD_SIGNATURE', 'signature: no public key recovers from it', { cause: e });
  }
  const address = evmAddress(key.toBytes(false));
  if (expected !== undefined && address === expected) rememberKey(address, key);
  return address;
}

/**
 * Public keys recovered for an expected address, by address, each with its multiplication tables
 * (about 200 KiB): at most `EVM_MAX_MEMBERS`, the least recently used one dropped first. An entry
 * is only ever the key its address hashes from, so it is a cache of work, not of trust.
 */
const knownKeys = new Map<string, InstanceType<typeof secp256k1.Point>>();
/** Window of the tables: 4 bits (computed in about 9 ms; a check then costs about a third of a recovery). */
const KEY_WINDOW = 4;
const { Fn } = secp256k1.Point;
const HALF_N = Fn.ORDER >> 1n;

function rememberKey(address: string, key: InstanceType<typeof secp256k1.Point>): void {
  if (knownKeys.has(address)) return;
  if (knownKeys.size >= EVM_MAX_MEMBERS) knownKeys.delete(knownKeys.keys().next().value as string);
  knownKeys.set(address, key.precompute(KEY_WINDOW, false));
}

/** The number of public keys kept for fast checks (tests). */
export function evmKnownKeys(): number {
  return knownKeys.size;
}

/**
 * True only if `ecrecover(digest, v, r, s)` returns the key of `address`: with Q that key,
 * R' = s⁻¹(h·G + r·Q) must be the point R of x = r and y parity v - 27 that the recovery starts
 * from (then r⁻¹(s·R - h·G) = Q). Also r and s in range and s low, as `evmRecover` requires. False
 * when the key is unknown or anything does not hold: the caller then recovers in full.
 */
function signedBy(digest: Uint8Array, sig: Uint8Array, address: string): boolean {
  const key = knownKeys.get(address);
  if (key === undefined || digest.length !== 32) return false;
  const r = bigint(sig.subarray(0, 32));
  const s = bigint(sig.subarray(32, 64));
  if (r === 0n || r >= Fn.ORDER || s === 0n || s > HALF_N) return false;
  const h = Fn.create(bigint(digest));
  const si = Fn.inv(s);
  const R = secp256k1.Point.BASE.multiplyUnsafe(Fn.create(h * si)).add(key.multiplyUnsafe(Fn.create(r * si)));
  if (R.is0()) return false;
  const { x, y } = R.toAffine();
  if (x !== r || Number(y & 1n) !== (sig[64] as number) - 27) return false;
  // Most recently used last.
  knownKeys.delete(address);
  knownKeys.set(address, key);
  return true;
}

function bigint(b: Uint8Array): bigint {
  return BigInt(`0x${toHex(b)}`);
}

/**
 * Orders signatures over `digest` as the contract requires (increasing signer address, one per
 * signer), dropping duplicates of a signer.
 */
export function sortEvmSignatures(digest: Uint8Array, signatures: string[]): `0x${string}`[] {
  const bySigner = new Map<string, `0x${string}`>();
  for (const s of signatures) bySigner.set(evmRecover(digest, s), s.toLowerCase() as `0x${string}`);
  return [...bySigner.keys()].sort().map((a) => bySigner.get(a)!);
}

/**
 * Checks a certificate as the contract does, against a member set (addresses) and threshold of
 * the certificate's epoch; throws BAD_CERTIFICATE saying what is wrong.
 */
export function verifyEvmCertificate(
  domain: EvmDomain,
  cert: EvmDecisionCertificate,
  members: { epoch: number; addresses: string[]; threshold: number },
): void {
  if (cert.epoch !== members.epoch) {
    throw new ProtocolError('BAD_CERTIFICATE', `epoch: expected ${members.epoch}, got ${describe(cert.epoch)}`);
  }
  if (!Array.isArray(cert.signatures) || cert.signatures.length > EVM_MAX_MEMBERS) {
    throw new ProtocolError('BAD_CERTIFICATE', `signatures: expected at most ${EVM_MAX_MEMBERS}`);
  }
  const digest = evmDecisionDigest(domain, cert.xtxId, cert.legHash, cert.commit, cert.epoch);
  const set = new Set(members.addresses.map((a) => a.toLowerCase()));
  let last = '';
  for (const [i, s] of cert.signatures.entries()) {
    const signer = evmRecover(digest, s);
    if (!set.has(signer)) throw new ProtocolError('BAD_CERTIFICATE', `signatures[${i}]: signer is not a member`);
    if (signer <= last) throw new ProtocolError('BAD_CERTIFICATE', `signatures[${i}]: not in increasing signer order`);
    last = signer;
  }
  if (cert.signatures.length < members.threshold) {
    throw new ProtocolError(
      'BAD_CERTIFICATE',
      `signatures: ${cert.signatures.length} of a threshold of ${members.threshold}`,
    );
  }
}

function hex(s: string, bytes: number, what: string): Uint8Array {
  if (typeof s !== 'string' || !s.startsWith('0x') || s.length !== 2 + 2 * bytes) {
    throw new ProtocolError('BAD_ENCODING', `${what}: expected 0x and ${2 * bytes} hex digits, got ${describe(s)}`);
  }
  return fromHex(s.slice(2), bytes);
}

function bytes32(s: string, what: string): Uint8Array {
  // Custos ids are bare hex (SHA-256); 0x-prefixed hex is accepted too.
  return typeof s === 'string' && !s.startsWith('0x') ? hex(`0x${s}`, 32, what) : hex(s, 32, what);
}

function addressWord(s: string, what: string): Uint8Array {
  return concatBytes(new Uint8Array(12), hex(s, 20, what));
}

function uint256(n: bigint | number, what: string): Uint8Array {
  const v = typeof n === 'bigint' ? n : Number.isSafeInteger(n) && n >= 0 ? BigInt(n) : -1n;
  if (v < 0n || v >= 1n << 256n) throw new ProtocolError('BAD_ENCODING', `${what}: expected an unsigned integer`);
  return fromHex(v.toString(16).padStart(64, '0'), 32);
}
