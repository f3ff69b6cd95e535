/** Where a cross-chain transaction stands, read from the chains it touches (`custos xtx status`). */
import {
  type CrossChainTx,
  custosParticipants,
  evmParticipants,
  legHashOf,
  parseCrossChainTx,
  type XtxDecisionRecord,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxIdOf,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { ChainEndpoint } from './endpoint.js';
import { type EvmLegStatus, evmLegStatus } from './evm/evm-status.js';

/** What `xtxStatus` reads. */
export interface XtxStatus {
  xtxId: string;
  /** `unknown` when no reachable chain has heard of it. */
  stage: 'unknown' | 'preparing' | 'deciding' | 'finalizing' | 'committed' | 'aborted';
  participants: string[] | null;
  decisionChain: string | null;
  deadlineHeight: number | null;
  decision: XtxDecisionRecord | null;
  chains: { chainId: string; label: string; reachable: boolean; height: number | null; record: XtxVoteRecord | null }[];
  /** Each EVM participant's leg: as the decision chain recorded it, and as its EVM chain shows it. */
  evm: EvmLegStatus[];
}

/**
 * Reads the status of `xtxId` from the given chains, and of its EVM legs from the EVM endpoints
 * given (`opts.evm`; without one, only what the decision chain recorded).
 */
export async function xtxStatus(
  endpoints: ChainEndpoint[],
  xtxId: string,
  opts: { evm?: { rpcUrl: string }[] } = {},
): Promise<XtxStatus> {
  const chains: XtxStatus['chains'] = [];
  let xtx: CrossChainTx | undefined;
  let decision: XtxDecisionRecord | null = null;
  for (const ep of endpoints) {
    try {
      const { chainId, height } = await ep.info();
      const record = (await ep.entry(xtxVoteKey(xtxId))) as unknown as XtxVoteRecord | null;
      chains.push({ chainId, label: ep.label, reachable: true, height, record });
      if (xtx === undefined && record?.prepareTx) {
        const tx = await ep.tx(record.prepareTx);
        if (tx !== null) {
          const parsed = parseCrossChainTx(tx.body.args.xtx);
          if (xtxIdOf(parsed) === xtxId) xtx = parsed;
        }
      }
      const d = (await ep.entry(xtxDecisionKey(xtxId))) as unknown as XtxDecisionRecord | null;
      if (d !== null) decision = d;
    } catch {
      chains.push({ chainId: '?', label: ep.label, reachable: false, height: null, record: null });
    }
  }
  let stage: XtxStatus['stage'] = 'unknown';
  const evm: EvmLegStatus[] = [];
  if (xtx !== undefined) {
    const dEp = endpoints[chains.findIndex((c) => c.chainId === xtx?.decisionChain && c.reachable)];
    for (const p of evmParticipants(xtx))
      evm.push(await evmLegStatus(dEp, xtxId, p, legHashOf(xtx, p), opts.evm ?? []));
  }
  if (xtx !== undefined) {
    const seen = (c: string) => chains.find((x) => x.chainId === c && x.reachable);
    const custos = custosParticipants(xtx);
    if (decision === null) {
      const voted = custos.every((c) => seen(c)?.record?.vote != null) && evm.every((l) => l.vote !== null);
      stage = voted ? 'deciding' : 'preparing';
    } else {
      const final = decision.decision === 'COMMIT' ? 'committed' : 'aborted';
      const evmDone = evm.every((l) => l.outcome !== null);
      // After an ABORT, a chain that never prepared has nothing to release.
      const done =
        evmDone &&
        custos.every((c) => {
          const chain = seen(c);
          if (chain === undefined) return false;
          return chain.record === null ? final === 'aborted' : chain.record.status === final;
        });
      stage = done ? final : 'finalizing';
    }
  } else if (chains.some((c) => c.record !== null)) {
    stage = 'preparing';
  }
  return {
    xtxId,
    stage,
    participants: xtx?.participants ?? null,
    decisionChain: xtx?.decisionChain ?? null,
    deadlineHeight: xtx?.deadlineHeight ?? null,
    decision,
    chains,
    evm,
  };
}
