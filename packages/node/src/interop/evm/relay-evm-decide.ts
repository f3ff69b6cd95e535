/**
 * The relayer's `decide` calls (relay-evm.ts): the decisions of a pass that a quorum of members
 * certified, sent to their participant contracts, those of one contract together in `decideMany`
 * calls. It remembers what it sent (`pending`) and which decisions go alone from now on (`alone`):
 * caches only, a relayer that forgets one sends it again and the contract refuses the second.
 */
import type { Account, Address, Hex, WalletClient } from 'viem';
import { type EvmDecisionToCarry, MAX_OUTCOMES_PER_TX } from '../../modules/xtx-evm.js';
import { CustosParticipant } from './contracts/artifacts.generated.js';

/** Pending decides remembered at most (a cache: a relayer that forgets one only sends it again). */
const PENDING_LIMIT = 10_000;

/**
 * Decisions of one contract sent in one `decideMany` at most (the contract takes up to 32): a full
 * batch's outcomes then go back to D in one `xtx.evmDone` list, its receipt proven once.
 */
export const DECIDE_BATCH = MAX_OUTCOMES_PER_TX;

/** A decision ready for its contract in this pass (`rest`: `<xtxId>/<participant>`). */
export interface ReadyDecision {
  rest: string;
  rec: EvmDecisionToCarry;
  c: { r: { wallet: WalletClient; from: Address | Account }; contract: Address };
}

export class DecisionSender {
  /**
   * `decide` and `decideMany` calls sent and not yet seen decided, by `<xtxId>/<participant>`: the
   * transaction's hash, and whether it carried other decisions too.
   */
  readonly pending = new Map<string, { hash: Hex; batch: boolean }>();
  /**
   * Decisions whose batch reverted or could not be sent: from then on each goes alone (`decide`),
   * so that one leg the contract refuses cannot hold back the others. A cache, like `pending`.
   */
  private readonly alone = new Set<string>();

  constructor(private readonly onError: (label: string, e: unknown) => void) {}

  sendAlone(rest: string): void {
    if (this.alone.size >= PENDING_LIMIT) this.alone.delete(this.alone.values().next().value as string);
    this.alone.add(rest);
  }

  /**
   * Sends the decisions of a pass: those of one contract in `decideMany` calls of up to
   * `DECIDE_BATCH`, a single one (or one whose batch failed) with `decide`, cheaper for one leg.
   * Not waiting for the receipts: a later pass proves the `Decided` events (the calls of a pass go
   * out together under the account's nonces). Adds each decision sent to `sent`.
   */
  async send(ready: ReadyDecision[], sent: Set<string>): Promise<void> {
    const calls: ReadyDecision[][] = [];
    const byContract = new Map<string, ReadyDecision[]>();
    for (const d of ready) {
      if (this.alone.has(d.rest)) {
        calls.push([d]);
        continue;
      }
      const list = byContract.get(d.rec.participant) ?? [];
      list.push(d);
      byContract.set(d.rec.participant, list);
    }
    for (const list of byContract.values()) {
      for (let i = 0; i < list.length; i += DECIDE_BATCH) calls.push(list.slice(i, i + DECIDE_BATCH));
    }
    await Promise.all(
      calls.map(async (batch) => {
        const first = batch[0] as ReadyDecision;
        const item = ({ rec }: ReadyDecision) => ({
          xtxId: `0x${rec.xtxId}` as Hex,
          legHash: rec.legHash as Hex,
          commit: rec.commit,
          epoch: BigInt(rec.epoch),
          signatures: rec.signatures.map((s) => s.signature as Hex),
        });
        try {
          const { r, contract } = first.c;
          const to = { address: contract, abi: CustosParticipant.abi, account: r.from, chain: null } as const;
          let hash: Hex;
          if (batch.length === 1) {
            const one = item(first);
            hash = await r.wallet.writeContract({
              ...to,
              functionName: 'decide',
              args: [one.xtxId, one.legHash, one.commit, one.epoch, one.signatures],
            });
          } else {
            hash = await r.wallet.writeContract({ ...to, functionName: 'decideMany', args: [batch.map(item)] });
          }
          for (const d of batch) {
            if (this.pending.size >= PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value as string);
            this.pending.set(d.rest, { hash, batch: batch.length > 1 });
            sent.add(d.rest);
          }
        } catch (e) {
          // A batch the endpoint refused (its gas estimate reverted): next pass, each leg alone.
          if (batch.length > 1) for (const d of batch) this.sendAlone(d.rest);
          this.onError(first.rest, e);
        }
      }),
    );
  }
}
