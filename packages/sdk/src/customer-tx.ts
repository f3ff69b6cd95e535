/** Builds a customer's transaction towards one org, signed with the wallet's pairwise key for it. */
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';

/**
 * Signs `type` with `args` as the customer's pseudonym towards `org` on `chainId`.
 *
 * @example
 * const tx = customerTx(wallet, 'demo', 'bank', 'consent.withdraw', { org: 'bank' });
 */
export function customerTx(
  wallet: Wallet,
  chainId: string,
  org: string,
  type: string,
  args: { [key: string]: JsonValue },
  opts: { now?: number; ttlMs?: number } = {},
): SignedTx {
  const { signer } = wallet.relationship(chainId, org);
  return signTx({ chainId, type, args, ...opts }, signer);
}
