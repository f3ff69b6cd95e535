/**
 * Consent receipts: each consent event on the ledger (a grant, a withdrawal) yields a W3C VC 2.0
 * signed by the org with eddsa-jcs-2022, exportable as an ISO/IEC TS 27560 record and a Kantara
 * Consent Receipt v1.1. Receipts are rebuilt on demand from the ledger, signed with the block time
 * as `created`, so the same event always gives the same receipt (Ed25519 is deterministic).
 */
import {
  type ConsentEvent,
  type ConsentReceiptCredential,
  type ExportContext,
  issueConsentReceipt,
  toIso27560,
  toKantaraReceipt,
} from '@custos/protocol/consent';
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';
import type { Grant } from '../modules/consent.js';
import { consentKey } from '../modules/consent.js';
import { keyOwnerKey } from '../modules/member-state.js';
import type { CustosNode } from '../node.js';

export type ReceiptFormat = 'vc' | 'iso27560' | 'kantara';

/** The public controller profile an org publishes on the ledger at `kv/privacy/<org>.profile`. */
export function profileKey(org: string): string {
  return `kv/privacy/${org}.profile`;
}

/** The consent events one transaction holds: one for a grant, one per consent it withdrew. */
export function consentEvents(node: CustosNode, txId: string): ConsentEvent[] {
  const t = node.store.getTx(txId);
  if (!t) throw new NodeError('NOT_FOUND', `no committed transaction ${txId}`);
  if (t.tx === null) throw new NodeError('NOT_FOUND', `transaction ${txId} was pruned after an erasure`);
  const { type, args, signer } = t.tx.body;
  if ((type !== 'consent.grant' && type !== 'consent.withdraw') || t.code !== 'OK') {
    throw new NodeError('NOT_FOUND', `transaction ${txId} is not a consent event that took effect`);
  }
  const at = node.store.getHeader(t.height)!.header.time;
  const ledger = { chainId: node.chainId, txId, height: t.height };
  const org = String(args.org);
  if (type === 'consent.grant') {
    return [
      {
        event: 'granted',
        id: txId,
        subject: signer,
        org,
        purposes: args.purposes as string[],
        categories: args.categories as string[],
        expiresAt: args.expiresAt as number,
        share: args.share === true,
        sale: args.sale === true,
        jurisdiction: args.jurisdiction as 'GDPR' | 'CCPA',
        notice: String(args.notice),
        at,
        ledger,
      },
    ];
  }
  // A withdrawal: the grants it ended are those it marked (`withdrawnBy`, its txId). Two withdrawals
  // in one block share a block time, so time alone cannot tell them apart; grants withdrawn before
  // `withdrawnBy` existed fall back to it. A child's guardian names the child in `subject`.
  const subject = typeof args.subject === 'string' ? args.subject : signer;
  const state = node.store.getState(consentKey(org, subject));
  const grants = state === undefined ? [] : (JSON.parse(state) as { grants: Grant[] }).grants;
  return grants
    .filter((g) =>
      g.withdrawnBy === undefined
        ? g.withdrawnAt === at && (args.consent === undefined || g.id === args.consent)
        : g.withdrawnBy === txId,
    )
    .map((g) => ({
      event: 'withdrawn' as const,
      id: g.id,
      subject,
      org,
      purposes: g.purposes,
      categories: g.categories,
      expiresAt: g.expiresAt,
      share: g.share,
      sale: g.sale,
      jurisdiction: g.jurisdiction,
      notice: g.notice,
      at,
      ledger,
    }));
}

/** The export context from the org's published profile; NOT_FOUND if it published none. */
export function exportContext(node: CustosNode, org: string): ExportContext {
  const text = node.store.getState(profileKey(org));
  if (text === undefined) {
    throw new NodeError(
      'NOT_FOUND',
      `org '${org}' has not published its controller profile (kv privacy/${org}.profile)`,
    );
  }
  const entry = JSON.parse(text) as { value: ExportContext; owner: string; org?: string };
  // Written under the org-owned namespace rule (`org`), or before it by one of the org's own keys:
  // a profile someone else put there is never used in the org's receipts.
  if (entry.org !== org && node.store.getState(keyOwnerKey(entry.owner)) !== JSON.stringify(org)) {
    throw new NodeError(
      'NOT_FOUND',
      `org '${org}' has not published its controller profile (kv privacy/${org}.profile was not written by its keys)`,
    );
  }
  return entry.value;
}

/** Receipts of a consent transaction in `format`, signed by the org (whose key this node must hold). */
export function consentReceipts(
  node: CustosNode,
  txId: string,
  signerOf: (org: string) => Signer | undefined,
  format: ReceiptFormat = 'vc',
): JsonValue[] {
  const events = consentEvents(node, txId);
  return events.map((event) => {
    const signer = signerOf(event.org);
    if (!signer) throw new NodeError('NOT_FOUND', `this node does not hold the key of org '${event.org}'`);
    const vc: ConsentReceiptCredential = issueConsentReceipt(event, { signer, created: event.at });
    if (format === 'vc') return vc as unknown as JsonValue;
    const ctx = exportContext(node, event.org);
    return (format === 'iso27560' ? toIso27560(vc, ctx) : toKantaraReceipt(vc, ctx)) as unknown as JsonValue;
  });
}
