/**
 * The customer as the source of their data (ADR 0018, docs/sdk.md "Corrections"): a fact updated
 * once, sealed with HPKE to each org the customer chose, each under that org's pairwise pseudonym.
 * For each org: read its HPKE key (public state `hpkekey/<org>`), seal the value bound to the chain,
 * the org, the pseudonym and the record, commit `rectify.send` with the envelope's digest, then
 * deliver the envelope to the org's inbox, where its node applies it and acknowledges on the ledger.
 */
import { fromBase64url } from '@custos/protocol/encoding';
import { envelopeDigest, type RectifyEnvelope, sealRectification } from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import type { DataRecord, FlagReason, HpkeKeyEntry, Jurisdiction } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';
import type { RelayedCorrection } from './actions/rectify.js';
import type { CommitResult } from './api-types.js';
import type { CustosClient } from './client.js';
import { customerTx } from './customer-tx.js';
import { CustosApiError } from './errors.js';
import { type TrustAnchor, trustedMembersOf } from './history.js';

/** One record to correct: the org that holds it and its id. */
export interface CorrectionTarget {
  org: string;
  record: string;
}

/** What happened at one org. */
export interface CorrectionOutcome extends CorrectionTarget {
  /** The `rectify.send` transaction (the item's id), once admitted. */
  item?: string;
  /** Result code of `rectify.send` ('OK' when the ledger holds the digest). */
  sent: string;
  /**
   * The answer to the delivery: `rectify.apply`'s commit (the org's own node), `RELAYED` (another
   * member's peer kept it for the org's node, which applies it shortly), or the error code.
   */
  applied?: CommitResult | RelayedCorrection | { error: string; message: string };
}

/**
 * The records a correction of `category` should reach: live records of that category (not
 * erased, not a copy waiting for erasure) that declare at least one purpose with its lawful basis.
 * The customer then chooses among them.
 */
export function correctionTargets(records: readonly DataRecord[], category: string): CorrectionTarget[] {
  return records
    .filter(
      (r) =>
        r.category === category &&
        r.erasedAt === null &&
        r.erasureRequestedAt === null &&
        Object.keys(r.purposes).length > 0,
    )
    .map((r) => ({ org: r.org, record: r.id }));
}

/**
 * The org's HPKE key in force, from the public state. With `trust` (the members the customer
 * pinned), the key comes with a state proof checked against them: a node that served another key
 * (its own, to read the value) is refused with `BAD_PROOF` instead of being sealed to. Without it,
 * the node is trusted to serve the key the ledger holds.
 */
export async function orgHpkeKeyEntry(client: CustosClient, org: string, trust?: TrustAnchor): Promise<HpkeKeyEntry> {
  const key = `hpkekey/${org}`;
  if (trust === undefined) return (await client.stateEntry(key)).value as unknown as HpkeKeyEntry;
  const fact = await client.verifiedState(key, trustedMembersOf(trust), { chainId: trust.chainId });
  if (fact.kind !== 'state' || fact.key !== key)
    throw new CustosApiError('BAD_PROOF', `expected a state proof of ${key}`);
  if (fact.value === null) throw new CustosApiError('NOT_FOUND', `${org} has published no HPKE key`, { status: 404 });
  const entry = fact.value as unknown as HpkeKeyEntry;
  if (entry.org !== org) throw new CustosApiError('BAD_PROOF', `the proven key is not ${org}'s`);
  return entry;
}

/** Seals `value` for one org under the wallet's pseudonym towards it. */
export async function sealCorrection(
  wallet: Wallet,
  chainId: string,
  key: HpkeKeyEntry,
  target: CorrectionTarget,
  value: JsonValue,
): Promise<RectifyEnvelope> {
  const subject = wallet.relationship(chainId, target.org).did;
  return sealRectification(
    fromBase64url(key.key, 32),
    { chainId, org: target.org, subject, record: target.record },
    value,
  );
}

/**
 * Sends one correction to each target, one org after the other, each under its own pseudonym and
 * with its own envelope: nothing two orgs receive is the same.
 */
export async function sendCorrections(
  client: CustosClient,
  wallet: Wallet,
  opts: {
    chainId: string;
    targets: readonly CorrectionTarget[];
    value: JsonValue;
    jurisdiction: Jurisdiction;
    /** The members the customer trusts: each org's key is then checked with a state proof. */
    trust?: TrustAnchor;
  },
): Promise<CorrectionOutcome[]> {
  const out: CorrectionOutcome[] = [];
  for (const target of opts.targets) {
    let key: HpkeKeyEntry;
    try {
      key = await orgHpkeKeyEntry(client, target.org, opts.trust);
    } catch (e) {
      if (!(e instanceof CustosApiError) || e.code !== 'NOT_FOUND') throw e;
      // That org cannot receive corrections yet; the others still get theirs.
      const message = `${target.org} has published no HPKE key: it cannot receive corrections yet`;
      out.push({ ...target, sent: 'NOT_FOUND', applied: { error: 'NOT_FOUND', message } });
      continue;
    }
    const env = await sealCorrection(wallet, opts.chainId, key, target, opts.value);
    const tx = customerTx(wallet, opts.chainId, target.org, 'rectify.send', {
      org: target.org,
      record: target.record,
      digest: envelopeDigest(env),
      kid: env.kid,
      jurisdiction: opts.jurisdiction,
    });
    const sent = await client.submitAndWait(tx);
    const outcome: CorrectionOutcome = { ...target, item: sent.txId, sent: sent.code };
    if (sent.code === 'OK') {
      try {
        outcome.applied = await client.deliverCorrection(target.org, sent.txId, env);
      } catch (e) {
        if (!(e instanceof CustosApiError)) throw e;
        outcome.applied = { error: e.code, message: e.message };
      }
    }
    out.push(outcome);
  }
  return out;
}

/** Flags a record as wrong (`rectify.flag`), under the pseudonym towards its org. */
export async function flagRecord(
  client: CustosClient,
  wallet: Wallet,
  opts: CorrectionTarget & { chainId: string; reason: FlagReason; jurisdiction: Jurisdiction },
) {
  const tx = customerTx(wallet, opts.chainId, opts.org, 'rectify.flag', {
    org: opts.org,
    record: opts.record,
    reason: opts.reason,
    jurisdiction: opts.jurisdiction,
  });
  return client.submitAndWait(tx);
}
