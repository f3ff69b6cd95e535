/**
 * Builds atomic cross-chain transactions (docs/architecture.md#atomic-cross-chain-transactions):
 * the plan every signer agrees to, each operation signed and bound to that plan, the assembled body
 * and its id, and the `xtx.prepare` transaction that hands it to a chain.
 *
 * Signing goes in two phases because each operation must commit to all the others: first the plan
 * (operations without signatures), whose hash every signer puts in `args.xtxPlan`; then each
 * party signs its own operation, on its own device if need be.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import {
  type CrossChainTx,
  type EvmLeg,
  parseCrossChainTx,
  XTX_BINDING_ARG,
  type XtxPlan,
  xtxIdOf,
  xtxPlanHash,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';

/** One operation of a plan: a normal transaction type for one chain, and who will sign it. */
export interface XtxOpSpec {
  chainId: string;
  type: string;
  args: { [key: string]: JsonValue };
  /** did:key of the signer (for a customer: the wallet's pairwise pseudonym on that chain). */
  signer: string;
}

export interface PlanOptions {
  /** The participant that records the decision. */
  decisionChain: string;
  /** Last height of the decision chain at which the operation can commit. */
  deadlineHeight: number;
  /** In order per chain; every participant needs at least one. */
  ops: XtxOpSpec[];
  /** 16 bytes; default random. */
  nonce?: Uint8Array;
  /**
   * EVM participants (`evm:<chainId>:<contract>`) and their one leg each (docs/interop.md): the
   * contract's `Voted` event must carry the leg's `legHash`.
   */
  legs?: { [participant: string]: EvmLeg };
}

/** A plan and its hash, ready to be signed operation by operation. */
export interface PreparedPlan {
  plan: XtxPlan;
  planHash: string;
}

/** Builds the plan that every signer agrees to. */
export function planXtx(opts: PlanOptions): PreparedPlan {
  const chains = [...new Set(opts.ops.map((o) => o.chainId))].sort();
  const participants = [...chains, ...Object.keys(opts.legs ?? {})].sort();
  const ops: XtxPlan['ops'] = {};
  for (const c of chains) {
    ops[c] = opts.ops
      .filter((o) => o.chainId === c)
      .map((o) => {
        if (Object.hasOwn(o.args, XTX_BINDING_ARG)) throw new TypeError(`args.${XTX_BINDING_ARG} is set by the plan`);
        return { type: o.type, signer: o.signer, args: o.args };
      });
  }
  const plan: XtxPlan = {
    participants,
    ops,
    decisionChain: opts.decisionChain,
    deadlineHeight: opts.deadlineHeight,
    nonce: toHex(opts.nonce ?? crypto.getRandomValues(new Uint8Array(16))),
  };
  if (opts.legs !== undefined && Object.keys(opts.legs).length > 0) plan.legs = opts.legs;
  return { plan, planHash: xtxPlanHash(plan) };
}

/**
 * Signs operation `index` of `chainId` in the plan, bound to it. Throws if `signer` is not the key
 * the plan names for it.
 */
export function signXtxOp(
  p: PreparedPlan,
  chainId: string,
  index: number,
  signer: Signer,
  opts: { now?: number; ttlMs?: number } = {},
): SignedTx {
  const op = p.plan.ops[chainId]?.[index];
  if (op === undefined) throw new TypeError(`the plan has no operation ${index} on chain '${chainId}'`);
  if (didFromPublicKey(signer.publicKey) !== op.signer) {
    throw new TypeError(`operation ${index} on chain '${chainId}' is to be signed by ${op.signer}`);
  }
  return signTx({ chainId, type: op.type, args: { ...op.args, [XTX_BINDING_ARG]: p.planHash }, ...opts }, signer);
}

/** Puts the signed operations (by chain, in plan order) into the body; checks it and returns it with its id. */
export function assembleXtx(
  p: PreparedPlan,
  signed: { [chainId: string]: SignedTx[] },
): { xtx: CrossChainTx; xtxId: string } {
  const xtx = parseCrossChainTx({
    participants: p.plan.participants,
    ops: signed,
    decisionChain: p.plan.decisionChain,
    deadlineHeight: p.plan.deadlineHeight,
    nonce: p.plan.nonce,
    ...(p.plan.legs === undefined ? {} : { legs: p.plan.legs }),
  });
  return { xtx, xtxId: xtxIdOf(xtx) };
}

/** An operation with the key that signs it, for `buildXtx`. */
export interface XtxOp {
  chainId: string;
  type: string;
  args: { [key: string]: JsonValue };
  signer: Signer;
}

/**
 * Plans, signs and assembles in one go, when every key is at hand (one wallet and the orgs' keys
 * in a test or a demo; otherwise use planXtx, signXtxOp and assembleXtx).
 *
 * @example
 * const { xtx, xtxId } = buildXtx({ decisionChain: 'alpha', deadlineHeight: h + 20, ops: [
 *   customerXtxOp(wallet, 'alpha', 'bank', 'consent.withdraw', { org: 'bank' }),
 *   customerXtxOp(wallet, 'beta', 'insurer', 'consent.grant', { org: 'insurer', ... }),
 * ]});
 */
export function buildXtx(opts: Omit<PlanOptions, 'ops'> & { ops: XtxOp[]; now?: number; ttlMs?: number }): {
  xtx: CrossChainTx;
  xtxId: string;
  planHash: string;
} {
  const specs = opts.ops.map((o) => ({
    chainId: o.chainId,
    type: o.type,
    args: o.args,
    signer: didFromPublicKey(o.signer.publicKey),
  }));
  const p = planXtx({ ...opts, ops: specs });
  const signed: { [chainId: string]: SignedTx[] } = {};
  const seen: { [chainId: string]: number } = {};
  const time = {
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }),
  };
  for (const o of opts.ops) {
    const i = seen[o.chainId] ?? 0;
    seen[o.chainId] = i + 1;
    const list = signed[o.chainId] ?? [];
    list.push(signXtxOp(p, o.chainId, i, o.signer, time));
    signed[o.chainId] = list;
  }
  return { ...assembleXtx(p, signed), planHash: p.planHash };
}

/** A customer's operation, signed by the wallet's pairwise key towards `org` on `chainId`. */
export function customerXtxOp(
  wallet: Wallet,
  chainId: string,
  org: string,
  type: string,
  args: { [key: string]: JsonValue },
): XtxOp {
  return { chainId, type, args, signer: wallet.relationship(chainId, org).signer };
}

/** The `xtx.prepare` transaction for `chainId` (anyone may sign it: the operations carry the authority). */
export function xtxPrepareTx(
  xtx: CrossChainTx,
  chainId: string,
  signer: Signer,
  opts: { now?: number; ttlMs?: number } = {},
): SignedTx {
  return signTx({ chainId, type: 'xtx.prepare', args: { xtx: xtx as unknown as JsonValue }, ...opts }, signer);
}
