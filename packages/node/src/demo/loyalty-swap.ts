/**
 * The demo's atomic cross-chain transaction (issue 15, docs/interop.md#the-demo-loyalty-points-for-consent):
 * a customer agrees to share her purchase history with the bank in exchange for the retailer's
 * loyalty points. One cross-chain body holds, on the demo chain, her `consent.grant` to the
 * retailer (signed by her pairwise key) and the retailer's `data.share` of the record with the bank,
 * and, on the EVM chain, the leg that moves the points from the retailer's account to hers. The
 * demo chain decides: both Custos operations and the token transfer happen, or none of them.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { type EvmLeg, xtxDecisionKey, xtxVoteKey } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import type { PairwiseIdentity } from '@custos/protocol/wallet';
import { buildXtx, xtxPrepareTx } from '@custos/sdk';
import type { Abi, Address } from 'viem';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { CustosParticipant, LoyaltyToken } from '../interop/evm/contracts/artifacts.generated.js';
import { evmDecisionKey } from '../modules/xtx-evm.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { readWalletFile, writeWalletFile } from '../wallet/wallet-file.js';
import { DEMO_WALLET_SCRYPT_N, DEMO_WALLETS_DIR } from './customers.js';
import type { DemoEvm } from './evm-chain.js';

const DAY = 86_400_000;
/** Blocks of the demo chain the transaction has to decide. */
const DEADLINE_BLOCKS = 200;
/** EVM blocks the retailer's lock holds. */
const LOCK_BLOCKS = 500n;
const WAIT_MS = 120_000;

export interface LoyaltySwapInput {
  /** The customer's pairwise identity towards the retailer (signs her consent). */
  customer: PairwiseIdentity;
  /** The retailer's record of her purchase history (`pd:Purchase`, declared for `dpv:Marketing` on consent). */
  record: string;
  /** Her EVM address, which receives the points. */
  to: Address;
  amount: bigint;
  /**
   * When false, the retailer does not approve the transfer: the token refuses it, the contract
   * votes NO and the whole transaction aborts (the demo's failure case). Default true.
   */
  approve?: boolean;
}

export interface LoyaltySwapResult {
  xtxId: string;
  decision: 'COMMIT' | 'ABORT';
  reason: string;
  /** What the contract did, proven on the demo chain. */
  evm: 'committed' | 'aborted' | 'lapsed';
  /** The retailer's `prepare` transaction on the EVM chain. */
  prepareTx: string;
}

/** The consent she gives the retailer: her purchase history, for marketing, shared (not sold). */
export function loyaltyConsentArgs(now = Date.now()): { [k: string]: JsonValue } {
  return {
    org: 'retailer',
    purposes: ['dpv:Marketing'],
    categories: ['pd:Purchase'],
    expiresAt: now + 365 * DAY,
    share: true,
    sale: false,
    jurisdiction: 'GDPR',
    notice: createHash('sha256')
      .update('Demo loyalty programme of retailer, version 1.0: points for sharing purchase history with bank')
      .digest('hex'),
  };
}

/** Runs one loyalty swap to its end on both chains (the demo's loops carry it). */
export async function loyaltySwap(
  node: CustosNode,
  retailer: Signer,
  evm: DemoEvm,
  input: LoyaltySwapInput,
): Promise<LoyaltySwapResult> {
  if (input.amount <= 0n) throw new NodeError('BAD_REQUEST', 'amount: expected a positive number of points');
  const leg: EvmLeg = {
    token: evm.token.toLowerCase(),
    from: evm.retailer.toLowerCase(),
    to: input.to.toLowerCase(),
    amount: input.amount.toString(),
  };
  const { xtx, xtxId } = buildXtx({
    decisionChain: node.chainId,
    deadlineHeight: node.latest().height + DEADLINE_BLOCKS,
    ops: [
      { chainId: node.chainId, type: 'consent.grant', args: loyaltyConsentArgs(), signer: input.customer.signer },
      {
        chainId: node.chainId,
        type: 'data.share',
        args: { record: input.record, recipient: 'bank', purpose: 'dpv:Marketing', sale: false },
        signer: retailer,
      },
    ],
    legs: { [evm.participant]: leg },
  });
  const prepared = await node.submitAndWait(xtxPrepareTx(xtx, node.chainId, nativeSigner(randomSecretKey())));
  if (prepared.code !== 'OK') throw new NodeError('CONFLICT', `xtx.prepare ended with ${prepared.code}`);
  // The retailer locks the points: approve (unless the demo shows a refusal), then prepare.
  if (input.approve !== false) {
    await evm.write(evm.token, LoyaltyToken.abi as Abi, 'approve', [evm.contract, input.amount], evm.retailer);
  }
  const deadline = (await evm.pub.getBlockNumber()) + LOCK_BLOCKS;
  const prepareTx = await evm.write(
    evm.contract,
    CustosParticipant.abi as Abi,
    'prepare',
    [`0x${xtxId}`, { ...leg, amount: input.amount }, deadline],
    evm.retailer,
  );
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const done = outcome(node, xtxId, evm.participant);
    if (done !== undefined) return { xtxId, ...done, prepareTx };
    if (Date.now() > until) throw new NodeError('TIMEOUT', `cross-chain transaction ${xtxId} not done in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function state<T>(node: CustosNode, key: string): T | undefined {
  const t = node.store.getState(key);
  return t === undefined ? undefined : (JSON.parse(t) as T);
}

/** The transaction's end on both sides, once the demo chain holds both. */
function outcome(node: CustosNode, xtxId: string, participant: string) {
  const d = state<{ decision: 'COMMIT' | 'ABORT'; reason: string }>(node, xtxDecisionKey(xtxId));
  const vote = state<{ status: string }>(node, xtxVoteKey(xtxId));
  const carried = state<{ outcome?: { status: 'committed' | 'aborted' | 'lapsed' } }>(
    node,
    evmDecisionKey(xtxId, participant),
  );
  if (d === undefined || carried?.outcome === undefined) return undefined;
  if (vote?.status !== 'committed' && vote?.status !== 'aborted') return undefined;
  return { decision: d.decision, reason: d.reason, evm: carried.outcome.status };
}

export interface DemoLoyaltySummary {
  /** The customer who joined: her wallet id in `demo-wallets/`. */
  customer: string;
  /** Her EVM address (a Hardhat account of this run). */
  address: Address;
  points: string;
  committed: LoyaltySwapResult;
  /** The failing case: the retailer did not approve, the token refused, nothing happened anywhere. */
  aborted: LoyaltySwapResult;
}

/**
 * The demo's loyalty step, once on a fresh demo chain: Ada joins the retailer's loyalty programme
 * (a relationship added to her demo wallet, her purchase history registered by the retailer), then
 * one swap aborts (the retailer's token refuses the transfer: no consent, no share, no points) and
 * one commits (her consent and the share on Custos, 100 points on the EVM chain).
 */
export async function runDemoLoyalty(
  t: DemoLoyaltyTarget,
  retailer: Signer,
  evm: DemoEvm,
): Promise<DemoLoyaltySummary> {
  const input = await joinDemoLoyalty(t, evm);
  const aborted = await loyaltySwap(t.node, retailer, evm, { ...input, approve: false });
  const committed = await loyaltySwap(t.node, retailer, evm, input);
  return {
    customer: 'ada',
    address: input.to,
    points: String(await evm.balanceOf(input.to)),
    committed,
    aborted,
  };
}

export interface DemoLoyaltyTarget {
  node: CustosNode;
  orgs: OrgService;
  home: string;
  passphrase: string;
}

/**
 * Ada joins the loyalty programme: the retailer relationship in her demo wallet, her purchase
 * history registered by the retailer. Returns the swap to run (100 points to her EVM address).
 */
export async function joinDemoLoyalty(t: DemoLoyaltyTarget, evm: DemoEvm): Promise<LoyaltySwapInput> {
  const path = join(t.home, DEMO_WALLETS_DIR, 'ada.json');
  const { wallet } = await readWalletFile(path, t.passphrase);
  if (!wallet.relationships().some((r) => r.chainId === t.node.chainId && r.orgId === 'retailer')) {
    wallet.addRelationship(t.node.chainId, 'retailer', 'Loyalty programme');
    await writeWalletFile(path, wallet, t.passphrase, { scryptN: DEMO_WALLET_SCRYPT_N, overwrite: true });
  }
  const customer = wallet.relationship(t.node.chainId, 'retailer');
  const r = await t.orgs.register('retailer', {
    subject: customer.did,
    category: 'pd:Purchase',
    purposes: { 'dpv:ServiceProvision': 'contract', 'dpv:Marketing': 'consent' },
    source: 'subject',
    retentionDays: 730,
    value: { orders: [{ sku: 'DEMO-3300', item: 'Reading lamp', price: 45 }] },
  });
  if (r.code !== 'OK') throw new NodeError('INTERNAL', `demo: the retailer's record ended with ${r.code}`);
  return { customer, record: r.recordId, to: evm.accounts[1]!, amount: 100n };
}
