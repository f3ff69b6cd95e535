/**
 * A parent's or guardian's consent for a child's relationship (GDPR Art. 8, CCPA 1798.120(c);
 * docs/customer-data.md, "Children"): the child's wallet writes the consent's terms as a request,
 * the guardian's wallet signs them with the guardian key the child registered (`age.set` with
 * guardian), and the child's wallet submits `consent.grant` with that signature as `parental`.
 * Request and approval travel as a file (CLI) or a code in a link (portal): base64url of the JSON.
 */

import { isDpvCategory, isDpvPurpose } from '@custos/protocol/consent';
import { didFromPublicKey, isDidKey, type Signer } from '@custos/protocol/crypto';
import { fromBase64url, fromUtf8, toBase64url, utf8 } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signParentalConsent, signTx } from '@custos/protocol/ledger';

/** Largest request or approval accepted: 8 KiB of JSON (16 codes of each kind fit easily). */
export const MAX_PARENTAL_BYTES = 8192;
const MAX_CODES = 16;
const JURISDICTIONS = ['GDPR', 'CCPA'] as const;

/** The terms a child asks a guardian to consent to: exactly what `consent.grant` will carry. */
export interface ParentalRequest {
  chainId: string;
  org: string;
  /** The child's pseudonym towards the org. */
  subject: string;
  purposes: string[];
  categories: string[];
  expiresAt: number;
  share: boolean;
  sale: boolean;
  jurisdiction: 'GDPR' | 'CCPA';
  /** SHA-256 (hex) of the privacy notice shown. */
  notice: string;
  explicit?: true;
}

/** The guardian's answer: the request and their signature over its terms. */
export interface ParentalApproval {
  request: ParentalRequest;
  parental: { guardian: string; signature: string };
}

function fail(what: string): never {
  throw new Error(`expected ${what}`);
}

function codes(v: unknown, what: string, known: (c: string) => boolean): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_CODES) fail(`${what} as 1-${MAX_CODES} DPV codes`);
  for (const c of v) if (typeof c !== 'string' || !known(c)) fail(`each of ${what} as a DPV code`);
  return v as string[];
}

/** Checks an untrusted request (parsed JSON); throws an Error saying what was expected. */
export function checkParentalRequest(v: unknown): ParentalRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('a parental consent request (a JSON object)');
  const o = v as Record<string, unknown>;
  const allowed = [
    'chainId',
    'org',
    'subject',
    'purposes',
    'categories',
    'expiresAt',
    'share',
    'sale',
    'jurisdiction',
    'notice',
    'explicit',
  ];
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) fail(`no field '${extra.slice(0, 40)}' in a parental consent request`);
  const str = (k: string, max: number, re: RegExp) =>
    typeof o[k] === 'string' && (o[k] as string).length <= max && re.test(o[k] as string)
      ? (o[k] as string)
      : fail(`${k} in the parental consent request`);
  const req: ParentalRequest = {
    chainId: str('chainId', 64, /^[A-Za-z0-9._-]+$/),
    org: str('org', 32, /^[a-z0-9][a-z0-9-]*$/),
    subject: str('subject', 128, /^did:key:/),
    purposes: codes(o.purposes, 'purposes', isDpvPurpose),
    categories: codes(o.categories, 'categories', isDpvCategory),
    expiresAt:
      typeof o.expiresAt === 'number' && Number.isSafeInteger(o.expiresAt) && o.expiresAt > 0
        ? o.expiresAt
        : fail('expiresAt as a time in milliseconds'),
    share: typeof o.share === 'boolean' ? o.share : fail('share as true or false'),
    sale: typeof o.sale === 'boolean' ? o.sale : fail('sale as true or false'),
    jurisdiction: (JURISDICTIONS as readonly unknown[]).includes(o.jurisdiction)
      ? (o.jurisdiction as ParentalRequest['jurisdiction'])
      : fail(`jurisdiction as one of ${JURISDICTIONS.join(', ')}`),
    notice: str('notice', 64, /^[0-9a-f]{64}$/),
  };
  if (!isDidKey(req.subject)) fail("subject as the child's did:key");
  if (o.explicit !== undefined) {
    if (o.explicit !== true) fail('explicit as true, or no explicit');
    req.explicit = true;
  }
  return req;
}

/** Checks an untrusted approval (parsed JSON); throws an Error saying what was expected. */
export function checkParentalApproval(v: unknown): ParentalApproval {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('a parental consent approval (a JSON object)');
  const o = v as Record<string, unknown>;
  const p = o.parental as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null || typeof p.guardian !== 'string' || !isDidKey(p.guardian)) {
    fail("parental.guardian as the guardian's did:key");
  }
  if (typeof p.signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(p.signature)) {
    fail("parental.signature as the guardian's Ed25519 signature (86 base64url characters)");
  }
  return { request: checkParentalRequest(o.request), parental: { guardian: p.guardian, signature: p.signature } };
}

/** A request or approval as a code for a link: base64url of its JSON. */
export function encodeParental(v: ParentalRequest | ParentalApproval): string {
  return toBase64url(utf8(JSON.stringify(v)));
}

/** Reads a code made by `encodeParental` (bounded; throws an Error saying what was expected). */
export function decodeParental(code: string): unknown {
  const text = code.trim();
  if (text.length === 0 || text.length > Math.ceil((MAX_PARENTAL_BYTES * 4) / 3)) {
    fail(`a code of at most ${Math.ceil((MAX_PARENTAL_BYTES * 4) / 3)} characters`);
  }
  try {
    return JSON.parse(fromUtf8(fromBase64url(text)));
  } catch {
    return fail('the code as it was given to you (base64url of JSON), complete');
  }
}

/** The guardian's key towards one chain: the same for every child and org (the wallet's `guardian` relationship). */
export const GUARDIAN_RELATIONSHIP = 'guardian';

/**
 * The guardian approves: signs the request's terms with their key.
 *
 * @example
 * const approval = approveParental(wallet.relationship(chainId, GUARDIAN_RELATIONSHIP).signer, request);
 */
export function approveParental(guardian: Signer, request: ParentalRequest): ParentalApproval {
  const { jurisdiction: _j, notice: _n, explicit: _e, ...terms } = request;
  return { request, parental: signParentalConsent(guardian, terms) };
}

/** The child's `consent.grant` carrying the guardian's approval, signed with the child's pairwise key. */
export function parentalGrantTx(child: Signer, approval: ParentalApproval, now?: number): SignedTx {
  const { request: r, parental } = approval;
  if (didFromPublicKey(child.publicKey) !== r.subject) {
    throw new Error(`expected the approval of a request made by this wallet for ${r.org}, not another pseudonym's`);
  }
  const args: { [k: string]: JsonValue } = {
    org: r.org,
    purposes: r.purposes,
    categories: r.categories,
    expiresAt: r.expiresAt,
    share: r.share,
    sale: r.sale,
    jurisdiction: r.jurisdiction,
    notice: r.notice,
    ...(r.explicit === true ? { explicit: true } : {}),
    parental,
  };
  return signTx({ chainId: r.chainId, type: 'consent.grant', args, ...(now === undefined ? {} : { now }) }, child);
}

/** The guardian withdraws the consents they signed for a child (or one of them: `consent`). */
export function guardianWithdrawTx(
  guardian: Signer,
  chainId: string,
  org: string,
  child: string,
  consent?: string,
): SignedTx {
  const args = { org, subject: child, ...(consent === undefined ? {} : { consent }) };
  return signTx({ chainId, type: 'consent.withdraw', args }, guardian);
}
