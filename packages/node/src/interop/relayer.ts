/**
 * The relayer (docs/architecture.md#atomic-cross-chain-transactions): carries cross-chain
 * transactions and their proofs between chains. It holds no state it cannot rebuild from the
 * chains: each step scans every chain's open cross-chain transactions (`xtxopen/`), reads votes and
 * the decision, and submits whichever of xtx.prepare, xtx.decide and xtx.finalize is due. Every
 * step is idempotent on the ledgers (a step already taken ends with CONFLICT), so any number of
 * relayers may run at once, and one that dies is replaced by another that simply scans again. Its
 * key only pays for nothing: relay transactions are permissionless, the proofs carry the authority.
 *
 * Before the cross-chain steps, each pass carries member-set changes: for every chain that has a
 * light client of another one, the other chain's certified member-set updates after the epoch that
 * light client holds (`GET /v1/members/epochs`) go to `interop.updateMembers`, so counterparties
 * follow admissions, removals and key rotations without anyone asking.
 *
 * With `evm` chains (docs/interop.md), it also carries EVM participants' votes to the decision
 * chain, the members' certified decisions to the participant contracts and the proof of what the
 * contracts did back (evm/relay-evm.ts).
 */
import type { Signer } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import {
  type CrossChainTx,
  custosParticipants,
  type DecisionProof,
  evmParticipants,
  type LightClientState,
  parseCrossChainTx,
  type VoteProof,
  type XtxDecisionRecord,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxIdOf,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import { type ChainEndpoint, listAll } from './endpoint.js';
import { EvmRelay, type EvmRelayChain } from './evm/relay-evm.js';
import { sleep, untilNewBlock } from './until-new-block.js';

export type RelayStep =
  | 'prepare'
  | 'decide'
  | 'timeout'
  | 'finalize'
  | 'members'
  | 'evmMembers'
  | 'evmVote'
  | 'evmDecide'
  | 'evmDone';

/** One transaction a relayer submitted, and how it ended (a result code, or an admission error code). */
export interface RelayAction {
  /**
   * The cross-chain transaction; for a `members` step, `epoch <n> of <chainId>`; for an
   * `evmMembers` step (an EVM contract's `updateMembers`), `epoch <from> -> <n>`.
   */
  xtxId: string;
  chainId: string;
  step: RelayStep;
  code: string;
}

export interface RelayerOptions {
  chains: ChainEndpoint[];
  /** Signs relay transactions; any key works. */
  signer: Signer;
  /** Wall clock for the relay transactions' validity window. */
  now?: () => number;
  /** Cross-chain transactions advanced at once. Default 64. */
  concurrency?: number;
  /** Called with every submitted step, and with chains that could not be reached. */
  onAction?: (a: RelayAction) => void;
  onError?: (label: string, e: unknown) => void;
  /** EVM chains of EVM participants, with the account that pays for `decide`. */
  evm?: EvmRelayChain[];
}

const BODY_CACHE_LIMIT = 10_000;

interface Chain {
  ep: ChainEndpoint;
  chainId: string;
  height: number;
}

/**
 * A relayer over some chains.
 *
 * @example
 * const relayer = new Relayer({ chains: [httpEndpoint(urlA), httpEndpoint(urlB)], signer });
 * await relayer.run({ intervalMs: 500, signal });
 */
export class Relayer {
  private readonly endpoints: ChainEndpoint[];
  private readonly signer: Signer;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly onAction: (a: RelayAction) => void;
  private readonly onError: (label: string, e: unknown) => void;
  /** Bodies already fetched and checked: a cache, rebuilt by scanning when lost. */
  private readonly bodies = new Map<string, CrossChainTx>();
  /** The EVM half that carries votes to the decision chains (with the cross-chain steps). */
  private readonly evm: EvmRelay | undefined;
  /**
   * The EVM half that carries decisions to the contracts and their outcomes back: an instance of
   * its own, as `run` runs its passes beside the others (each pass clears its own caches).
   */
  private readonly evmOut: EvmRelay | undefined;

  constructor(opts: RelayerOptions) {
    this.endpoints = opts.chains;
    this.signer = opts.signer;
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 64;
    this.onAction = opts.onAction ?? (() => {});
    this.onError = opts.onError ?? (() => {});
    const evm = opts.evm === undefined || opts.evm.length === 0 ? undefined : opts.evm;
    this.evm = evm === undefined ? undefined : new EvmRelay(evm, this.onError, this.concurrency);
    this.evmOut = evm === undefined ? undefined : new EvmRelay(evm, this.onError, this.concurrency);
  }

  /** One pass: scans every chain and submits every step that is due. Returns what it submitted. */
  async step(): Promise<RelayAction[]> {
    const actions = await this.stepXtx(this.heights);
    if (this.evmOut !== undefined) actions.push(...(await this.stepEvm(this.evmHeights)));
    return actions;
  }

  /** The chains the endpoints reach; each endpoint's height goes to `heights` (for the wait after the pass). */
  private async reach(heights: Map<ChainEndpoint, number>): Promise<Map<string, Chain>> {
    const chains = new Map<string, Chain>();
    heights.clear();
    for (const ep of this.endpoints) {
      try {
        const { chainId, height } = await ep.info();
        heights.set(ep, height);
        if (!chains.has(chainId)) chains.set(chainId, { ep, chainId, height });
      } catch (e) {
        this.onError(ep.label, e);
      }
    }
    return chains;
  }

  /** The EVM deliveries of a pass: member sets and decisions to the contracts, outcomes back to D. */
  private async stepEvm(heights: Map<ChainEndpoint, number>): Promise<RelayAction[]> {
    const chains = await this.reach(heights);
    const actions: RelayAction[] = [];
    this.evmOut?.newPass();
    await this.deliverEvm(chains, actions);
    return actions;
  }

  /** The cross-chain steps of a pass, with the EVM votes carried to the decision chains. */
  private async stepXtx(heights: Map<ChainEndpoint, number>): Promise<RelayAction[]> {
    const chains = await this.reach(heights);
    const actions: RelayAction[] = [];
    this.evm?.newPass();
    await this.relayMemberSets(chains, actions);
    const open = new Map<string, { chain: Chain; prepareTx: string }[]>();
    for (const chain of chains.values()) {
      try {
        for (const { key, value } of await listAll(chain.ep, 'xtxopen/')) {
          const id = key.slice('xtxopen/'.length);
          const prepareTx = (value as { prepareTx?: unknown } | null)?.prepareTx;
          if (typeof prepareTx !== 'string') continue;
          const list = open.get(id) ?? [];
          list.push({ chain, prepareTx });
          open.set(id, list);
        }
      } catch (e) {
        this.onError(chain.ep.label, e);
      }
    }
    const ids = [...open.keys()];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        try {
          await this.advance(id, open.get(id) ?? [], chains, actions);
        } catch (e) {
          this.onError(id, e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    return actions;
  }

  /**
   * EVM member sets to the contracts first (a decision is signed under the set in force), then
   * decisions for EVM participants to the contracts, and their outcome back to each chain.
   */
  private async deliverEvm(chains: Map<string, Chain>, actions: RelayAction[]): Promise<void> {
    for (const chain of chains.values()) {
      try {
        await (this.evmOut as EvmRelay).updateMembers(chain.ep, (u) =>
          this.record(actions, {
            xtxId: `epoch ${u.from} -> ${u.epoch}`,
            chainId: u.participant,
            step: 'evmMembers',
            code: 'SENT',
          }),
        );
        const submit = async (args: { outcomes: { [k: string]: JsonValue }[] }) => {
          const tx = signTx({ chainId: chain.chainId, type: 'xtx.evmDone', args, now: this.now() }, this.signer);
          let code: string;
          try {
            code = (await chain.ep.submit(tx)).code;
          } catch (e) {
            code = errorCodeOf(e);
          }
          for (const o of args.outcomes) {
            this.record(actions, { xtxId: String(o.xtxId), chainId: chain.chainId, step: 'evmDone', code });
          }
          return code;
        };
        const sent = await (this.evmOut as EvmRelay).deliver(chain.ep, submit);
        for (const rest of sent) {
          const [xtxId = '', participant = ''] = rest.split('/');
          this.record(actions, { xtxId, chainId: participant, step: 'evmDecide', code: 'SENT' });
        }
      } catch (e) {
        this.onError(chain.ep.label, e);
      }
    }
  }

  private record(actions: RelayAction[], a: RelayAction): void {
    actions.push(a);
    this.onAction(a);
  }

  /**
   * Brings every light client up to date: for each chain B with a light client of chain A, submits
   * A's certified member-set updates after the epoch B's client holds, in order, to B. An update
   * another relayer brought first ends with UNAUTHORIZED (stale) and changes nothing.
   */
  private async relayMemberSets(chains: Map<string, Chain>, actions: RelayAction[]): Promise<void> {
    for (const src of chains.values()) {
      if (src.ep.memberEpochs === undefined) continue;
      for (const dst of chains.values()) {
        if (dst === src) continue;
        try {
          const lc = (await dst.ep.entry(`lc/${src.chainId}`)) as unknown as LightClientState | null;
          if (lc === null || lc.frozen !== null || typeof lc.epoch !== 'number') continue;
          for (const u of await src.ep.memberEpochs(lc.epoch + 1)) {
            const tx = signTx(
              {
                chainId: dst.chainId,
                type: 'interop.updateMembers',
                args: { certified: u as unknown as JsonValue },
                now: this.now(),
              },
              this.signer,
            );
            let code: string;
            try {
              code = (await dst.ep.submit(tx)).code;
            } catch (e) {
              code = errorCodeOf(e);
            }
            const a: RelayAction = {
              xtxId: `epoch ${u.epoch} of ${src.chainId}`,
              chainId: dst.chainId,
              step: 'members',
              code,
            };
            actions.push(a);
            this.onAction(a);
            if (code !== 'OK') break;
          }
        } catch (e) {
          this.onError(dst.ep.label, e);
        }
      }
    }
  }

  /**
   * Steps until `signal` aborts (or once, with `once`). Between passes it waits for a new block on
   * any chain whose endpoint can say so (`nextBlock`; one committed during the pass starts the next
   * at once), else `intervalMs`: what is due arrives in blocks, and a timer alone adds up to a pause
   * to every step of a cross-chain transaction.
   */
  async run(
    opts: {
      intervalMs?: number;
      signal?: AbortSignal;
      once?: boolean;
      /**
       * Asked after each pass: a number of ms above 0 pauses that loop as long instead of waiting
       * for a block (`custos relay` gives a chain's API that answered RATE_LIMITED time).
       */
      pauseMs?: () => number;
      /** Called after each pass of either loop. */
      onPass?: () => void;
    } = {},
  ): Promise<void> {
    const interval = opts.intervalMs ?? 500;
    if (opts.once === true) {
      await this.step();
      return;
    }
    // With EVM chains, the deliveries are a loop of their own beside the cross-chain steps: a pass
    // of one does not wait for the other's round trips (every step is idempotent, as with two
    // relayers side by side).
    const loop = async (pass: (h: Map<ChainEndpoint, number>) => Promise<unknown>, h: Map<ChainEndpoint, number>) => {
      while (opts.signal?.aborted !== true) {
        await pass(h);
        opts.onPass?.();
        const pause = opts.pauseMs?.() ?? 0;
        if (pause > 0) await sleep(pause, opts.signal);
        else await untilNewBlock([...h], interval, opts.signal);
      }
    };
    await Promise.all([
      loop((h) => this.stepXtx(h), this.heights),
      ...(this.evmOut === undefined ? [] : [loop((h) => this.stepEvm(h), this.evmHeights)]),
    ]);
  }

  /** The height of each endpoint at the start of the last pass (for `run`'s wait). */
  private readonly heights = new Map<ChainEndpoint, number>();
  /** The same for the EVM deliveries' passes. */
  private readonly evmHeights = new Map<ChainEndpoint, number>();

  /** The body of `id`, from the prepare transaction one of the chains committed, checked against its id. */
  private async body(id: string, sources: { chain: Chain; prepareTx: string }[]): Promise<CrossChainTx | undefined> {
    const cached = this.bodies.get(id);
    if (cached !== undefined) return cached;
    for (const { chain, prepareTx } of sources) {
      try {
        const tx = await chain.ep.tx(prepareTx);
        if (tx === null) continue;
        const xtx = parseCrossChainTx(tx.body.args.xtx);
        if (xtxIdOf(xtx) !== id) continue;
        if (this.bodies.size >= BODY_CACHE_LIMIT) this.bodies.delete(this.bodies.keys().next().value as string);
        this.bodies.set(id, xtx);
        return xtx;
      } catch (e) {
        this.onError(chain.ep.label, e);
      }
    }
    return undefined;
  }

  private async advance(
    id: string,
    sources: { chain: Chain; prepareTx: string }[],
    chains: Map<string, Chain>,
    actions: RelayAction[],
  ): Promise<void> {
    const xtx = await this.body(id, sources);
    if (xtx === undefined) return;
    const records = new Map<string, XtxVoteRecord | null>();
    await Promise.all(
      xtx.participants.map(async (c) => {
        const chain = chains.get(c);
        if (chain === undefined) return;
        try {
          records.set(c, (await chain.ep.entry(xtxVoteKey(id))) as unknown as XtxVoteRecord | null);
        } catch (e) {
          this.onError(chain.ep.label, e);
        }
      }),
    );
    const d = chains.get(xtx.decisionChain);
    let decision: XtxDecisionRecord | null | undefined;
    if (d !== undefined) {
      try {
        decision = (await d.ep.entry(xtxDecisionKey(id))) as unknown as XtxDecisionRecord | null;
      } catch (e) {
        this.onError(d.ep.label, e);
      }
    }
    const submit = async (chain: Chain, step: RelayStep, args: { [k: string]: JsonValue }): Promise<string> => {
      const type = step === 'timeout' ? 'xtx.decide' : `xtx.${step}`;
      const tx = signTx({ chainId: chain.chainId, type, args, now: this.now() }, this.signer);
      let code: string;
      try {
        code = (await chain.ep.submit(tx)).code;
      } catch (e) {
        code = errorCodeOf(e);
      }
      const a: RelayAction = { xtxId: id, chainId: chain.chainId, step, code };
      actions.push(a);
      this.onAction(a);
      return code;
    };
    const body = xtx as unknown as JsonValue;
    const evm = evmParticipants(xtx);
    if (evm.length > 0 && d !== undefined && (decision === null || decision === undefined) && this.evm !== undefined) {
      if (await this.evm.carryVotes(d.ep, xtx, id, (step, args) => submit(d, step, args))) {
        // The vote may have decided and finalized D's part with it: nothing more to send there.
        decision = (await d.ep.entry(xtxDecisionKey(id))) as unknown as XtxDecisionRecord | null;
        records.set(d.chainId, (await d.ep.entry(xtxVoteKey(id))) as unknown as XtxVoteRecord | null);
      }
    }
    if (evm.length > 0 && d !== undefined) {
      // The EVM votes as D recorded them (xtx.evmVote), in the shape of a chain's vote record.
      await Promise.all(
        evm.map(async (p) => {
          const v = (await d.ep.entry(`xtxevm/${id}/${p}`)) as { vote?: string } | null;
          if (v !== null) records.set(p, { vote: v.vote } as XtxVoteRecord);
        }),
      );
    }

    if (decision === null || decision === undefined) {
      await Promise.all(
        xtx.participants.map(async (c) => {
          const chain = chains.get(c);
          if (chain !== undefined && records.get(c) === null) {
            if ((await submit(chain, 'prepare', { xtx: body })) === 'OK') {
              records.set(c, (await chain.ep.entry(xtxVoteKey(id))) as unknown as XtxVoteRecord | null);
            }
          }
        }),
      );
      if (d === undefined || decision === undefined) return;
      const no = xtx.participants.find((c) => records.get(c)?.vote === 'NO');
      const allYes = xtx.participants.every((c) => records.get(c)?.vote === 'YES');
      let code: string | undefined;
      if (no !== undefined || allYes) {
        const from = no === undefined ? xtx.participants : [no];
        const votes = await Promise.all(
          from
            .filter((c) => c !== xtx.decisionChain && custosParticipants(xtx).includes(c))
            .map((c) => this.voteProof(chains.get(c) as Chain, id)),
        );
        code = await submit(d, 'decide', { xtx: body, votes: votes as unknown as JsonValue });
      } else if (d.height >= xtx.deadlineHeight) {
        // The next block of D is past the deadline: a timeout is valid there.
        code = await submit(d, 'timeout', { xtx: body, timeout: true });
      }
      // CONFLICT: another relayer decided first; its decision is as good.
      if (code !== 'OK' && code !== 'CONFLICT') return;
      decision = (await d.ep.entry(xtxDecisionKey(id))) as unknown as XtxDecisionRecord | null;
      if (decision === null) return;
    }

    const due = xtx.participants.filter((c) => {
      if (!chains.has(c) || !records.has(c)) return false;
      const rec = records.get(c);
      // A tombstone for an ABORT that overtook the prepare: a late prepare then finds it.
      if (rec === null || rec === undefined) return decision?.decision === 'ABORT';
      return rec.status === 'prepared' || rec.status === 'refused';
    });
    if (due.length === 0) return;
    let proof: DecisionProof | undefined;
    if (due.some((c) => c !== xtx.decisionChain)) {
      if (d === undefined) return;
      const b = await d.ep.stateProof(xtxDecisionKey(id));
      if (b.value === null) return;
      proof = { certificate: b.certificate, proof: b.proof, value: b.value };
    }
    await Promise.all(
      due.map((c) =>
        submit(
          chains.get(c) as Chain,
          'finalize',
          c === xtx.decisionChain ? { xtx: body } : { xtx: body, decision: proof as unknown as JsonValue },
        ),
      ),
    );
  }

  private async voteProof(chain: Chain, id: string): Promise<VoteProof> {
    const b = await chain.ep.stateProof(xtxVoteKey(id));
    if (b.value === null) throw new NodeError('NOT_FOUND', `chain '${chain.chainId}' has no vote on ${id}`);
    return { chainId: chain.chainId, certificate: b.certificate, proof: b.proof, value: b.value };
  }
}

function errorCodeOf(e: unknown): string {
  return e instanceof NodeError || e instanceof ProtocolError ? e.code : 'INTERNAL';
}
