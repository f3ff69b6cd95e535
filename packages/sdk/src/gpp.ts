/**
 * The customer's side of a GPP string: the banner's choices become a `gpp.record` signed with the
 * wallet's pairwise key for the org, in the customer's browser (the portal, or a company's page
 * that embeds the SDK with the customer's wallet), so opt-ins and TCF consents carry the customer's
 * own signature. The ledger applies exactly what the string says (docs/customer-data.md).
 */
import { decodeGpp } from '@custos/protocol/gpp';
import type { SignedTx } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';
import { customerTx } from './customer-tx.js';

export {
  type CustosChoices,
  emitGpp,
  type GppChoices,
  gppChoices,
  TCF_PURPOSE_MAP,
  US_FIELD_MAP,
} from '@custos/protocol/gpp';

/** Categories a TCF consent covers by default: what ad tech reads on a page. */
export const DEFAULT_GPP_CATEGORIES = ['pd:BrowsingBehavior'] as const;

/**
 * Signs `gpp.record` for `gpp` as the customer towards `org`. A string with TCF purpose consents
 * gets a consent grant over `categories` for `days` (default 365), replacing the last GPP grant.
 * Throws the protocol's BAD_ENCODING for a string that does not decode.
 *
 * @example
 * const tx = gppRecordTx(wallet, 'demo', 'retailer', '__gpp string from the banner__');
 * await client.submitAndWait(tx);
 */
export function gppRecordTx(
  wallet: Wallet,
  chainId: string,
  org: string,
  gpp: string,
  opts: { categories?: readonly string[]; days?: number; now?: number } = {},
): SignedTx {
  const { sections } = decodeGpp(gpp);
  const now = opts.now ?? Date.now();
  const days = opts.days ?? 365;
  const consent = sections.includes('tcfeuv2')
    ? { consent: { categories: [...(opts.categories ?? DEFAULT_GPP_CATEGORIES)], expiresAt: now + days * 86_400_000 } }
    : {};
  return customerTx(wallet, chainId, org, 'gpp.record', { org, gpp, ...consent }, { now });
}
