/**
 * The customer's data itself, provably complete (GDPR Art. 15(3), Art. 20; CCPA 1798.100/110;
 * ADR 0021). When an org answers an access or export request, its node reads the subject's values
 * from its vault and seals them with HPKE (the suite of ADR 0018) to the customer's pairwise key
 * towards that org, converted to X25519 (RFC 7748's birational map, as libsodium and age do): the
 * wallet derives it per org, and the org reads it from the pseudonym itself, so nothing links the
 * customer across orgs and nothing new goes on the ledger. The additional data binds the chain,
 * the org, the pseudonym and the request. `request.fulfil` carries the envelope's SHA-256 and the
 * number of records; the wallet opens the envelope and checks each value against its salted
 * commitment on the ledger: "complete: N of N records". The plaintext is padded (ISO/IEC 7816-4:
 * 0x80, then zeros) to a power of two of at least `EXPORT_PAD_FLOOR` bytes, so whoever carries the
 * envelope learns only that bucket, not how much the org holds.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, fromUtf8, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalBytes, canonicalize, type JsonValue } from '../jcs.js';
import { derivePairwiseSeed } from '../wallet/pairwise.js';
import { type Wallet, walletMasterSecret } from '../wallet/wallet.js';
import { publicKeyFromDid } from './didkey.js';
import { copy, hpkeKeyId, suite } from './hpke.js';

/** `info` of every export envelope (RFC 9180 section 5.1). */
export const EXPORT_INFO = 'custos/export/v1';
/** Most records one export carries. */
export const MAX_EXPORT_RECORDS = 1000;
/** Bound on an export's canonical JSON before encryption, and so on the envelope the node stores. */
export const MAX_EXPORT_BYTES = 4 * 1024 * 1024;
/** Smallest padded plaintext: every envelope's ciphertext is at least this plus the 16-byte tag. */
export const EXPORT_PAD_FLOOR = 16 * 1024;

/**
 * The padded size of an export whose canonical JSON is `n` bytes: the smallest power of two that is
 * at least `EXPORT_PAD_FLOOR` and above `n` (room for the 0x80 marker), at most `MAX_EXPORT_BYTES`.
 */
export function exportPaddedSize(n: number): number {
  let size = EXPORT_PAD_FLOOR;
  while (size <= n && size < MAX_EXPORT_BYTES) size *= 2;
  return size;
}

/** `plain`, then 0x80, then zeros up to its bucket (ISO/IEC 7816-4 padding). */
function pad(plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(exportPaddedSize(plain.length));
  out.set(plain);
  out[plain.length] = 0x80;
  return out;
}

/** The bytes before the padding; an export sealed before padding (it ends in `}`) as it is. */
function unpad(padded: Uint8Array): Uint8Array {
  if (padded.at(-1) === 0x7d) return padded;
  let end = padded.length;
  while (end > 0 && padded[end - 1] === 0) end--;
  if (end === 0 || padded[end - 1] !== 0x80) {
    throw new ProtocolError('BAD_CIPHERTEXT', 'expected the opened export to end in its padding: 0x80, then zeros');
  }
  return padded.subarray(0, end - 1);
}

/** What an export envelope is bound to: anything else fails to open it. */
export interface DataExportContext {
  chainId: string;
  /** The org that answered. */
  org: string;
  /** The customer's pairwise pseudonym towards that org (a did:key). */
  subject: string;
  /** The access or export request it answers. */
  request: string;
}

/** One value from the org's vault, with the salt of its commitment on the ledger. */
export interface ExportedRecord {
  record: string;
  category: string;
  /** Purpose -> lawful basis, as declared on the ledger. */
  purposes: Record<string, string>;
  source: string;
  /** 32 bytes, hex: `commitment = SHA-256(salt || canonical JSON value)`. */
  salt: string;
  value: JsonValue;
}

/** What the report states besides the values (GDPR Art. 15(1)(c), (f), (h); Art. 15(2)). */
export interface ExportStatements {
  /** Records with purposes decided solely by automated means (GDPR Art. 22), by record. */
  automated: { record: string; category: string; purposes: string[] }[];
  /** Transfers outside the EEA as the org recorded them; empty: none recorded. */
  transfers: { country: string; safeguard: string }[];
  /** Where the customer can complain, in words. */
  complaints: string[];
}

/** The sealed content: who, which request, the values and the statements. */
export interface DataExport extends DataExportContext {
  v: 1;
  kind: 'access' | 'export';
  jurisdiction: string;
  createdAt: number;
  records: ExportedRecord[];
  statements: ExportStatements;
}

/** The sealed export: `kid` names the customer's key, `enc` and `ct` base64url. */
export interface ExportEnvelope {
  v: 1;
  kid: string;
  enc: string;
  ct: string;
}

/** Where a customer can complain about an answer, per law (GDPR Art. 77; CCPA 1798.199.10, 1798.155). */
export function complaintText(jurisdiction: string): string {
  return jurisdiction === 'CCPA'
    ? 'If you disagree, you can complain to the California Privacy Protection Agency (cppa.ca.gov) or the California Attorney General.'
    : 'If you disagree, you can complain to the data protection authority of the country where you live or work, or where this happened (GDPR Art. 77), or go to court (Art. 79).';
}

/** The customer's X25519 public key towards one org, from their pseudonym (an Ed25519 did:key). */
export function exportPublicKeyOf(subject: string): Uint8Array {
  return ed25519.utils.toMontgomery(publicKeyFromDid(subject));
}

function aadOf(ctx: DataExportContext, kid: string): ArrayBuffer {
  const { chainId, org, subject, request } = ctx;
  return copy(canonicalBytes({ type: EXPORT_INFO, chainId, org, subject, request, kid }));
}

/** Seals an export to the customer's key towards `ctx.org`, bound to `ctx`. Throws BAD_JSON when too large. */
export async function sealDataExport(ctx: DataExportContext, data: DataExport): Promise<ExportEnvelope> {
  if (
    data.chainId !== ctx.chainId ||
    data.org !== ctx.org ||
    data.subject !== ctx.subject ||
    data.request !== ctx.request
  ) {
    throw new ProtocolError(
      'BAD_JSON',
      'expected the export to name the chain, org, subject and request it is sealed for',
    );
  }
  if (data.records.length > MAX_EXPORT_RECORDS) {
    throw new ProtocolError(
      'BAD_JSON',
      `expected at most ${MAX_EXPORT_RECORDS} records in one export, got ${data.records.length}`,
    );
  }
  const plain = utf8(canonicalize(data as unknown as JsonValue));
  if (plain.length >= MAX_EXPORT_BYTES) {
    throw new ProtocolError(
      'BAD_JSON',
      `expected an export of at most ${MAX_EXPORT_BYTES - 1} bytes as canonical JSON, got ${plain.length}`,
    );
  }
  const publicKey = exportPublicKeyOf(ctx.subject);
  const kid = hpkeKeyId(publicKey);
  const s = suite();
  const recipientPublicKey = await s.kem.deserializePublicKey(copy(publicKey));
  const { ct, enc } = await s.seal(
    { recipientPublicKey, info: copy(utf8(EXPORT_INFO)) },
    copy(pad(plain)),
    aadOf(ctx, kid),
  );
  return { v: 1, kid, enc: toBase64url(new Uint8Array(enc)), ct: toBase64url(new Uint8Array(ct)) };
}

/** Checks an envelope's shape and bounds; throws BAD_CIPHERTEXT saying what was expected. */
export function parseExportEnvelope(v: unknown): ExportEnvelope {
  const bad = (what: string) => new ProtocolError('BAD_CIPHERTEXT', `expected ${what}, got ${describe(v)}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('an export envelope {v, kid, enc, ct}');
  const o = v as Record<string, unknown>;
  if (Object.keys(o).sort().join(',') !== 'ct,enc,kid,v' || o.v !== 1) throw bad('exactly v: 1, kid, enc and ct');
  if (typeof o.kid !== 'string' || !/^[0-9a-f]{16}$/.test(o.kid)) throw bad('kid as 16 hex digits');
  if (typeof o.enc !== 'string' || o.enc.length !== 43) throw bad('enc as 32 bytes of base64url');
  if (typeof o.ct !== 'string' || o.ct.length < 22 || o.ct.length > Math.ceil(((MAX_EXPORT_BYTES + 16) * 4) / 3)) {
    throw bad(`ct as base64url of at most ${MAX_EXPORT_BYTES} bytes`);
  }
  return { v: 1, kid: o.kid, enc: o.enc, ct: o.ct };
}

/** SHA-256 (hex) of the envelope's canonical JSON: what `request.fulfil` commits to on the ledger. */
export function exportDigest(env: ExportEnvelope): string {
  return toHex(sha256(canonicalBytes(env as unknown as JsonValue)));
}

/**
 * Opens an export with the wallet's key towards `ctx.org`. Throws BAD_CIPHERTEXT if it was sealed
 * to another customer, org, request or chain, or altered; the content must name `ctx` too.
 */
export async function openDataExport(wallet: Wallet, env: ExportEnvelope, ctx: DataExportContext): Promise<DataExport> {
  const seed = derivePairwiseSeed(walletMasterSecret(wallet), ctx.chainId, ctx.org);
  const secret = ed25519.utils.toMontgomerySecret(seed);
  const s = suite();
  let plain: ArrayBuffer;
  try {
    const recipientKey = await s.kem.deserializePrivateKey(copy(secret));
    plain = await s.open(
      { recipientKey, enc: copy(fromBase64url(env.enc, 32)), info: copy(utf8(EXPORT_INFO)) },
      copy(fromBase64url(env.ct)),
      aadOf(ctx, env.kid),
    );
  } catch (cause) {
    throw new ProtocolError(
      'BAD_CIPHERTEXT',
      'the export does not open: sealed to another customer, org, request or chain, or altered',
      { cause },
    );
  } finally {
    secret.fill(0);
    seed.fill(0);
  }
  const bytes = unpad(new Uint8Array(plain));
  let data: DataExport;
  try {
    data = JSON.parse(fromUtf8(bytes)) as DataExport;
  } catch (cause) {
    throw new ProtocolError('BAD_CIPHERTEXT', 'expected the opened export to hold JSON', { cause });
  }
  if (
    data?.v !== 1 ||
    !Array.isArray(data.records) ||
    data.chainId !== ctx.chainId ||
    data.org !== ctx.org ||
    data.subject !== ctx.subject ||
    data.request !== ctx.request
  ) {
    throw new ProtocolError('BAD_CIPHERTEXT', 'expected an export v1 naming this chain, org, pseudonym and request');
  }
  return data;
}
