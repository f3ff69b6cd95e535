/**
 * Transactions (docs/architecture.md#build-and-sign): `{ body, sig }`, signed over the RFC 8785
 * canonical bytes of `body`; `txId = SHA-256(canonical body)`. Valid only inside its expiry window
 * (at most one hour); a txId seen inside the window is a replay.
 */
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, isHex, toHex, utf8 } from '../bytes.js';
import { didFromPublicKey, isDidKey, publicKeyFromDid } from '../crypto/didkey.js';
import { SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalBytes, canonicalize, type JsonValue } from '../jcs.js';

export interface TxBody {
  /** The chain this transaction is for; a transaction for another chain is rejected. */
  chainId: string;
  /** `module.action`, e.g. `kv.put`. */
  type: string;
  /** did:key of the signing key. */
  signer: string;
  args: { [key: string]: JsonValue };
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
  /** Milliseconds since the Unix epoch; `createdAt < expiresAt <= createdAt + MAX_TTL_MS`. */
  expiresAt: number;
  /** 16 random bytes as hex, so that two otherwise equal transactions have different ids. */
  nonce: string;
}

export interface SignedTx {
  body: TxBody;
  /** base64url Ed25519 signature over `canonicalBytes(body)`. */
  sig: string;
}

/** A transaction that passed `parseTx`, with its canonical body bytes and id. */
export interface ParsedTx {
  tx: SignedTx;
  bodyBytes: Uint8Array;
  txId: string;
}

export const MAX_TX_BYTES = 32 * 1024;
export const MAX_TTL_MS = 60 * 60 * 1000;
/** How far in the future `createdAt` may be, to allow for clock differences between a client and the chain. */
export const MAX_CLOCK_SKEW_MS = 60 * 1000;
export const MAX_ARGS_DEPTH = 16;

const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const TX_TYPE = /^[a-z][a-z0-9]{0,31}(\.[a-z][a-zA-Z0-9]{0,31}){1,2}$/;
const BODY_KEYS = ['args', 'chainId', 'createdAt', 'expiresAt', 'nonce', 'signer', 'type'];
/** 64 bytes of base64url without padding: the last character carries 2 bits of data and 4 zero bits. */
const SIG = /^[A-Za-z0-9_-]{85}[AQgw]$/;

/** Hex SHA-256 of the canonical body: the transaction id. */
export function txIdOf(body: TxBody): string {
  return toHex(sha256(canonicalBytes(body)));
}

/** True if `s` is a well-formed txId (64 lower-case hex characters). */
export function isTxId(s: unknown): s is string {
  return isHex(s, 32);
}

/**
 * Checks the shape and bounds of an untrusted transaction (no signature or time check) and returns
 * it with its canonical bytes and id. Throws `BAD_TX` or `TX_TOO_LARGE` saying what was expected.
 */
export function parseTx(raw: unknown): ParsedTx {
  if (!isPlainObject(raw)) throw bad(`expected a transaction object {body, sig}, got ${describe(raw)}`);
  const extra = Object.keys(raw).filter((k) => k !== 'body' && k !== 'sig');
  if (extra.length > 0) throw bad(`unexpected field '${extra[0]}' in transaction; expected only body and sig`);
  const { body, sig } = raw;
  if (typeof sig !== 'string' || !SIG.test(sig)) {
    throw bad(`expected sig as 86 characters of base64url (64 bytes), got ${describe(sig)}`);
  }
  if (!isPlainObject(body)) throw bad(`expected body to be an object, got ${describe(body)}`);
  for (const k of Object.keys(body)) {
    if (!BODY_KEYS.includes(k))
      throw bad(`unexpected field 'body.${k.slice(0, 40)}'; expected ${BODY_KEYS.join(', ')}`);
  }
  const { chainId, type, signer, args, createdAt, expiresAt, nonce } = body;
  if (typeof chainId !== 'string' || !CHAIN_ID.test(chainId)) {
    throw bad(`expected body.chainId of 1-64 characters [a-z0-9-], got ${describe(chainId)}`);
  }
  if (typeof type !== 'string' || !TX_TYPE.test(type)) {
    throw bad(`expected body.type like 'module.action', got ${describe(type)}`);
  }
  if (!isSignerDid(signer)) throw bad(`expected body.signer to be an Ed25519 did:key, got ${describe(signer)}`);
  if (!isPlainObject(args)) throw bad(`expected body.args to be an object, got ${describe(args)}`);
  checkDepth(args, 1);
  if (!isTimestamp(createdAt)) throw bad(`expected body.createdAt in integer milliseconds, got ${describe(createdAt)}`);
  if (!isTimestamp(expiresAt)) throw bad(`expected body.expiresAt in integer milliseconds, got ${describe(expiresAt)}`);
  if (expiresAt <= createdAt || expiresAt - createdAt > MAX_TTL_MS) {
    throw bad(`expected expiresAt after createdAt and at most ${MAX_TTL_MS / 60000} minutes later`);
  }
  if (!isHex(nonce, 16)) throw bad(`expected body.nonce as 32 lower-case hex characters, got ${describe(nonce)}`);
  let bodyBytes: Uint8Array;
  try {
    // canonicalBytes(body), only args through the general writer: the checks above leave chainId,
    // type, nonce and signer (base58) printable ASCII without quotes or backslashes, which JCS
    // writes as they are, and the timestamps safe integers, written as their digits; the names
    // are in RFC 8785 order. The tx and signed-tx-json tests hold it to canonicalBytes.
    bodyBytes = utf8(
      `{"args":${canonicalize(args)},"chainId":"${chainId}","createdAt":${createdAt},"expiresAt":${expiresAt},` +
        `"nonce":"${nonce}","signer":"${signer}","type":"${type}"}`,
    );
  } catch (cause) {
    throw bad('expected body.args to hold only JSON values', cause);
  }
  if (bodyBytes.length > MAX_TX_BYTES) {
    throw new ProtocolError(
      'TX_TOO_LARGE',
      `expected a body of at most ${MAX_TX_BYTES} bytes, got ${bodyBytes.length}`,
    );
  }
  return { tx: raw as unknown as SignedTx, bodyBytes, txId: toHex(sha256(bodyBytes)) };
}

const utf8Decoder = new TextDecoder();

/**
 * The canonical JSON text of a parsed transaction, `{"body":<canonical body>,"sig":"<sig>"}`: what
 * a peer stores and what the orderer passes between peers. Equal to `canonicalize(p.tx)`, built from
 * the body bytes `parseTx` already made ("body" sorts before "sig"); the signature needs no escaping
 * since `parseTx` accepted only base64url characters in it.
 */
export function signedTxJson(p: ParsedTx): string {
  return `{"body":${utf8Decoder.decode(p.bodyBytes)},"sig":"${p.tx.sig}"}`;
}

/** Verifies the signature of a parsed transaction against its signer's did:key. */
export function verifyTxSignature(parsed: ParsedTx, verifier: Verifier): boolean {
  let pk: Uint8Array;
  let sig: Uint8Array;
  try {
    pk = publicKeyFromDid(parsed.tx.body.signer);
    sig = fromBase64url(parsed.tx.sig, SIGNATURE_LENGTH);
  } catch {
    return false;
  }
  return verifier.verify(pk, parsed.bodyBytes, sig);
}

/** Throws `TX_EXPIRED` or `TX_NOT_YET_VALID` unless `now` (ms) is inside the transaction's window. */
export function checkTxWindow(body: TxBody, now: number): void {
  if (now >= body.expiresAt) throw new ProtocolError('TX_EXPIRED', 'transaction expired: expiresAt is not after now');
  if (body.createdAt > now + MAX_CLOCK_SKEW_MS) {
    throw new ProtocolError(
      'TX_NOT_YET_VALID',
      `transaction createdAt is more than ${MAX_CLOCK_SKEW_MS / 1000} s in the future`,
    );
  }
}

/** Throws `WRONG_CHAIN` unless the transaction is for `chainId`. */
export function checkChain(body: TxBody, chainId: string): void {
  if (body.chainId !== chainId) {
    throw new ProtocolError('WRONG_CHAIN', `expected a transaction for chain '${chainId}', got one for another chain`);
  }
}

export interface BuildTxOptions {
  chainId: string;
  type: string;
  args: { [key: string]: JsonValue };
  /** Defaults to the current time. */
  now?: number;
  /** Defaults to 10 minutes. */
  ttlMs?: number;
  /** 16 bytes; defaults to random. */
  nonce?: Uint8Array;
}

/** Builds and signs a transaction. */
export function signTx(opts: BuildTxOptions, signer: Signer): SignedTx {
  const now = opts.now ?? Date.now();
  const nonce = opts.nonce ?? crypto.getRandomValues(new Uint8Array(16));
  const body: TxBody = {
    chainId: opts.chainId,
    type: opts.type,
    signer: didFromPublicKey(signer.publicKey),
    args: opts.args,
    createdAt: now,
    expiresAt: now + (opts.ttlMs ?? 10 * 60 * 1000),
    nonce: toHex(nonce),
  };
  return { body, sig: toBase64url(signer.sign(canonicalBytes(body))) };
}

/**
 * Signers already seen valid: checking a did:key (base58 decoding, key checks) costs as much as the
 * rest of parseTx, and a ledger sees the same few signers again and again. Validity depends on the
 * string alone, so the cache cannot change an answer.
 */
const validSigners = new Set<string>();
const MAX_VALID_SIGNERS = 10_000;

function isSignerDid(v: unknown): v is string {
  if (typeof v === 'string' && validSigners.has(v)) return true;
  if (!isDidKey(v)) return false;
  if (validSigners.size >= MAX_VALID_SIGNERS) validSigners.clear();
  validSigners.add(v);
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTimestamp(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Counts objects and arrays only: `args` is level 1, and a number inside level 16 is still level 16. */
function checkDepth(v: unknown, depth: number): void {
  if (typeof v === 'object' && v !== null) {
    if (depth > MAX_ARGS_DEPTH) throw bad(`expected body.args nested at most ${MAX_ARGS_DEPTH} levels deep`);
    for (const x of Array.isArray(v) ? v : Object.values(v)) checkDepth(x, depth + 1);
  }
}

function bad(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('BAD_TX', message, cause === undefined ? {} : { cause });
}
