/** Where a cross-chain transaction stands, read from the chains it touches (`custos xtx status`). */
import {
  type CrossChainTx,
  parseCrossChainTx,
  type XtxDecisionRecord,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxIdOf,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { ChainEndpoint } from './endpoint.js';

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
}

/** Reads the status of `xtxId` from the given chains. */
export async function xtxStatus(endpoints: ChainEndpoint[], xtxId: string): Promise<XtxStatus> {
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
  if (xtx !== undefined) {
    const seen = (c: string) => chains.find((x) => x.chainId === c && x.reachable);
    if (decision === null) {
      stage = xtx.participants.every((c) => seen(c)?.record?.vote != null) ? 'deciding' : 'preparing';
    } else {
      const final = decision.decision === 'COMMIT' ? 'committed' : 'aborted';
      // After an ABORT, a chain that never prepared has nothing to release.
      const done = xtx.participants.every((c) => {
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
  };
}
