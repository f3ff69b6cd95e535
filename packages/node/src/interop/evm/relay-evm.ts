/**
 * The relayer's EVM half (docs/interop.md): it carries an EVM participant's prepare vote to the
 * decision chain D (the receipt, its receipts-trie proof, the number of its attested block), the
 * decision certified by the members' EVM keys to the participant contract (`decide`), and the
 * proof of what the contract did back to D (`xtx.evmDone`), which closes the work. Like the Custos
 * relayer it keeps nothing it cannot rebuild: each pass reads D (`xtxevm/`, `xtxevmd/`,
 * `xtxevmopen/`) and the EVM chain (`Voted`, `Decided`, `Lapsed` events, `lockOf`), and every step
 * is idempotent on both sides, so relayers can run side by side and replace one another. Before the
 * decisions, it moves each registered contract to the EVM member set in force on D
 * (`updateMembers`, with the members' signatures recorded in `evmmu/`; evm-members-relay.ts).
 */
import { type CrossChainTx, evmParticipants, legHashOf, parseEvmParticipant } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  type WalletClient,
} from 'viem';
import { nonceManager, privateKeyToAccount } from 'viem/accounts';
import { EVM_MEMBER_SET_KEY } from '../../governance/evm-member-set.js';
import type { EvmDecisionToCarry } from '../../modules/xtx-evm.js';
import { eachConcurrently } from '../each-concurrently.js';
import { type ChainEndpoint, listAll } from '../endpoint.js';
import { ContractEvents, type EventAt } from './contract-events.js';
import { CustosParticipant } from './contracts/artifacts.generated.js';
import { type ContractSet, HeldEpochs, type MemberSetRelayed, relayMemberSets } from './evm-members-relay.js';
import { type BlockReceipts, buildBlockReceipts, receiptProofIn } from './receipt-proof.js';
import { DecisionSender, type ReadyDecision } from './relay-evm-decide.js';
import { type Outcome, outcomeLists } from './relay-evm-lists.js';
import { rpcFetch } from './rpc-fetch.js';

/** An EVM chain a relayer reaches, and the account that pays for `decide`. */
export interface EvmRelayChain {
  rpcUrl: string;
  /** An account the endpoint signs for (an unlocked development account), or a secret key (`0x` hex). */
  account: { address: Address } | { secretKey: Hex };
  /** First block searched for a contract's events (default 0). */
  fromBlock?: bigint;
}

interface Reached {
  evmChainId: number;
  rpcUrl: string;
  pub: PublicClient;
  wallet: WalletClient;
  from: Address | ReturnType<typeof privateKeyToAccount>;
  fromBlock: bigint;
}

/** What one EVM step submitted: a Custos transaction's code, or `sent` for a contract call. */
export type EvmSubmit = (step: 'evmVote' | 'evmDone', args: { [k: string]: JsonValue }) => Promise<string>;

const STATUS = ['none', 'prepared', 'refused', 'committed', 'aborted'] as const;
export type EvmLockStatus = (typeof STATUS)[number];

export class EvmRelay {
  private reached: Promise<Map<number, Reached>> | undefined;

  constructor(
    private readonly chains: EvmRelayChain[],
    private readonly onError: (label: string, e: unknown) => void = () => {},
    /** Open decisions handled at once. */
    private readonly concurrency = 64,
  ) {
    this.decisions = new DecisionSender(onError);
  }

  private connect(): Promise<Map<number, Reached>> {
    this.reached ??= (async () => {
      const out = new Map<number, Reached>();
      for (const c of this.chains) {
        // Concurrent reads of a pass go out as JSON-RPC batches: one HTTP round trip for many.
        const transport = http(c.rpcUrl, { retryCount: 1, batch: { batchSize: 100 }, fetchFn: rpcFetch });
        const pub = createPublicClient({ transport, cacheTime: 0 }) as PublicClient;
        try {
          const evmChainId = await pub.getChainId();
          // A local key takes its nonces from a manager, so that concurrent decides do not reuse
          // one; an endpoint's own account gets them from the endpoint.
          const from =
            'secretKey' in c.account ? privateKeyToAccount(c.account.secretKey, { nonceManager }) : c.account.address;
          out.set(evmChainId, {
            evmChainId,
            rpcUrl: c.rpcUrl,
            pub,
            wallet: createWalletClient({ transport }),
            from,
            fromBlock: c.fromBlock ?? 0n,
          });
        } catch (e) {
          this.onError(c.rpcUrl, e);
        }
      }
      if (out.size < this.chains.length) this.reached = undefined;
      return out;
    })();
    return this.reached;
  }

  /** The member set a participant contract holds: epoch, members, threshold. */
  async contractSet(participant: string): Promise<ContractSet | undefined> {
    const c = await this.chainOf(participant);
    if (c === undefined) return undefined;
    const [epoch, members, threshold] = (await c.r.pub.readContract({
      address: c.contract,
      abi: CustosParticipant.abi,
      functionName: 'memberSet',
    })) as [bigint, readonly Address[], bigint];
    this.held.seen(participant, Number(epoch));
    return { epoch: Number(epoch), members: members.map((m) => m.toLowerCase()), threshold: Number(threshold) };
  }

  /** The epochs the contracts were read at (`contractSet`): no read per pass once at D's. */
  private readonly held = new HeldEpochs();

  /** The epoch `participant`'s contract holds: known without a call while it is D's own. */
  private async heldEpoch(d: ChainEndpoint, participant: string): Promise<number | undefined> {
    // Per decision chain: a relayer may serve several, each with its own EVM member set.
    const set = await this.once(`memberset/${d.label}`, () => d.entry(EVM_MEMBER_SET_KEY));
    return this.held.atDs(participant, set) ?? (await this.contractSet(participant))?.epoch;
  }

  /**
   * Moves every registered contract this relayer reaches to the latest EVM member set on D that a
   * quorum of the set it holds signed; resolves with what it submitted.
   */
  async updateMembers(
    d: ChainEndpoint,
    onRelayed: (u: MemberSetRelayed) => void = () => {},
  ): Promise<MemberSetRelayed[]> {
    return relayMemberSets(d, {
      contractSet: (p) => this.contractSet(p),
      heldAtLeast: (p) => this.held.atLeast(p),
      chainOf: (p) => this.chainOf(p),
      onError: this.onError,
      onRelayed,
    });
  }

  private async chainOf(participant: string): Promise<{ r: Reached; contract: Address } | undefined> {
    const { evmChainId, contract } = parseEvmParticipant(participant);
    const r = (await this.connect()).get(evmChainId);
    return r === undefined ? undefined : { r, contract: contract as Address };
  }

  /** The contract's lock of the leg `legHash` of `xtxId`: its status and deadline block. */
  async lock(
    participant: string,
    xtxId: string,
    legHash: string,
  ): Promise<{ status: EvmLockStatus; deadline: bigint } | undefined> {
    const c = await this.chainOf(participant);
    if (c === undefined) return undefined;
    const lock = (await c.r.pub.readContract({
      address: c.contract,
      abi: CustosParticipant.abi,
      functionName: 'lockOf',
      args: [`0x${xtxId}`, legHash as Hex],
    })) as { status: number; deadline: bigint };
    return { status: STATUS[lock.status] as EvmLockStatus, deadline: lock.deadline };
  }

  /**
   * The transaction that emitted `event` for the leg `legHash` of `xtxId`, if the contract emitted
   * it: events of another leg prepared under the same id (anyone can) are not this leg's.
   */
  async eventTx(
    participant: string,
    xtxId: string,
    legHash: string,
    event: 'Voted' | 'Decided' | 'Lapsed',
  ): Promise<{ txHash: Hex; blockNumber: number } | undefined> {
    const index = await this.events(participant);
    return index?.get(`${event}/${xtxId}/${legHash}`);
  }

  /**
   * Starts a relay pass: the contracts' events are read once per pass (one `eth_getLogs` per
   * contract for every transaction in flight, not one per transaction and event), from where the
   * pass before stopped (contract-events.ts).
   */
  newPass(): void {
    this.eventIndex.clear();
    this.blocks.clear();
    this.proofs.clear();
    this.pass.clear();
  }

  /** The decisions sent to the contracts, and what became of them (relay-evm-decide.ts). */
  private readonly decisions: DecisionSender;

  /** What became of the transaction `hash`: mined (or reverted), waiting in the endpoint's pool, or lost. */
  private async txState(pub: PublicClient, hash: Hex): Promise<'mined' | 'reverted' | 'pending' | 'lost'> {
    try {
      return (await pub.getTransactionReceipt({ hash })).status === 'success' ? 'mined' : 'reverted';
    } catch {
      return (await pub.getTransaction({ hash }).catch(() => null)) !== null ? 'pending' : 'lost';
    }
  }
  private readonly eventIndex = new Map<string, Promise<Map<string, EventAt> | undefined>>();
  /** Each contract's events, read on from the last pass's head. */
  private readonly readers = new Map<string, ContractEvents>();
  /** Blocks whose receipts were rebuilt in this pass, by `<evmChainId>/<number>`: one read per block, not per proof. */
  private readonly blocks = new Map<string, Promise<BlockReceipts>>();
  /** Receipt proofs built in this pass, by `<evmChainId>/<number>/<txHash>`: one per `decideMany`, not per leg. */
  private readonly proofs = new Map<string, ReturnType<typeof receiptProofIn>>();
  /** Reads shared by a pass's decisions: the EVM head, each contract's epoch. */
  private readonly pass = new Map<string, Promise<unknown>>();

  /** `read()` once per pass under `key` (a failed read is not kept). */
  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.pass.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = read();
      p.catch(() => this.pass.delete(key));
      this.pass.set(key, p);
    }
    return p;
  }

  /** The contract's `Voted`, `Decided` and `Lapsed` events by `<event>/<xtxId>/<legHash>`, first one kept. */
  private events(participant: string): Promise<Map<string, EventAt> | undefined> {
    let index = this.eventIndex.get(participant);
    if (index === undefined) {
      index = (async () => {
        const c = await this.chainOf(participant);
        if (c === undefined) return undefined;
        let reader = this.readers.get(participant);
        if (reader === undefined) {
          reader = new ContractEvents(c.r.pub, c.contract, c.r.fromBlock);
          this.readers.set(participant, reader);
        }
        return reader.read();
      })();
      // A failed read is not kept: the next caller in the pass tries again.
      index.catch(() => this.eventIndex.delete(participant));
      this.eventIndex.set(participant, index);
    }
    return index;
  }

  /**
   * The arguments proving the receipt of the transaction that emitted `event`, once its block is
   * attested on D with the same hash; undefined while there is nothing to prove yet.
   */
  private async proven(
    d: ChainEndpoint,
    participant: string,
    xtxId: string,
    legHash: string,
    event: 'Voted' | 'Decided' | 'Lapsed',
  ): Promise<{ number: number; index: number; proof: string[] } | undefined> {
    const c = await this.chainOf(participant);
    const found = await this.eventTx(participant, xtxId, legHash, event);
    if (c === undefined || found === undefined) return undefined;
    // No proof to build before the members attested the block (its hash is checked below).
    const hdr = (await d.entry(`evmhdr/${c.r.evmChainId}/${found.blockNumber}`)) as { hash?: string } | null;
    if (hdr === null) return undefined;
    const key = `${c.r.evmChainId}/${found.blockNumber}`;
    let block = this.blocks.get(key);
    if (block === undefined) {
      block = buildBlockReceipts(c.r.pub, BigInt(found.blockNumber), [found.txHash]);
      block.catch(() => this.blocks.delete(key));
      this.blocks.set(key, block);
    }
    const at = `${key}/${found.txHash}`;
    let proof = this.proofs.get(at);
    if (proof === undefined) {
      proof = block.then((x) => receiptProofIn(x, found.txHash));
      proof.catch(() => this.proofs.delete(at));
      this.proofs.set(at, proof);
    }
    const p = await proof;
    if (hdr.hash !== p.blockHash) return undefined;
    return { number: p.blockNumber, index: p.index, proof: p.proof };
  }

  /** The proof of the contract's `Decided` (or `Lapsed`) for the leg `rec` decides, once there is one to prove. */
  private async outcomeProof(
    d: ChainEndpoint,
    rec: EvmDecisionToCarry,
  ): Promise<{ number: number; index: number; proof: string[] } | undefined> {
    return (
      (await this.proven(d, rec.participant, rec.xtxId, rec.legHash, 'Decided')) ??
      (await this.proven(d, rec.participant, rec.xtxId, rec.legHash, 'Lapsed'))
    );
  }

  /**
   * Carries the EVM votes of `xtx` that D has not recorded yet, each with `decide: true` (D decides
   * and finalizes its own part in the same transaction once it has every vote). Resolves true if D
   * recorded one.
   */
  async carryVotes(d: ChainEndpoint, xtx: CrossChainTx, xtxId: string, submit: EvmSubmit): Promise<boolean> {
    let recorded = false;
    for (const p of evmParticipants(xtx)) {
      try {
        if ((await d.entry(`xtxevm/${xtxId}/${p}`)) !== null) continue;
        const proof = await this.proven(d, p, xtxId, legHashOf(xtx, p), 'Voted');
        if (proof === undefined) continue;
        const args = { xtx: xtx as unknown as JsonValue, participant: p, ...proof, decide: true };
        if ((await submit('evmVote', args)) === 'OK') recorded = true;
      } catch (e) {
        this.onError(p, e);
      }
    }
    return recorded;
  }

  /**
   * Every decision D recorded for an EVM participant and not yet proven applied: `decide` on the
   * contract once a quorum of members signed (the decisions of a pass for one contract together in
   * `decideMany` calls of up to `DECIDE_BATCH`), then the proofs of its `Decided` (or `Lapsed`)
   * back to D, those of a pass together in `xtx.evmDone {outcomes}` lists (`submit`, once per
   * list; the legs of one receipt with one proof). Resolves with the decisions sent to contracts.
   */
  async deliver(
    d: ChainEndpoint,
    submit: (args: { outcomes: { [k: string]: JsonValue }[] }) => Promise<string>,
  ): Promise<string[]> {
    const sent = new Set<string>();
    const outcomes: Outcome[] = [];
    const ready: ReadyDecision[] = [];
    const open = (await listAll(d, 'xtxevmopen/')).map(({ key }) => key.slice('xtxevmopen/'.length));
    // Every open decision at once (the account's nonces managed by the client or the endpoint):
    // the decides and proofs of a pass go out together rather than one EVM block after another.
    await eachConcurrently(open, this.concurrency, async (rest) => {
      try {
        const rec = (await d.entry(`xtxevmd/${rest}`)) as unknown as EvmDecisionToCarry | null;
        if (rec === null) return;
        const c = await this.chainOf(rec.participant);
        if (c === undefined) return;
        // The contract's events of this pass first: a leg it decided needs no read of its lock.
        const done = await this.outcomeProof(d, rec);
        if (done !== undefined) {
          this.decisions.pending.delete(rest);
          outcomes.push({ xtxId: rec.xtxId, participant: rec.participant, ...done });
          return;
        }
        // Decided (or lapsed) on the contract, its block not attested yet: nothing to send, and no
        // read of the lock (one EVM call per leg per pass while the members attest the block).
        const decided =
          (await this.eventTx(rec.participant, rec.xtxId, rec.legHash, 'Decided')) ??
          (await this.eventTx(rec.participant, rec.xtxId, rec.legHash, 'Lapsed'));
        if (decided !== undefined) {
          this.decisions.pending.delete(rest);
          return;
        }
        const signed = rec.signatures.length >= rec.threshold;
        if (!signed && !rec.commit) return;
        const head = await this.once(`head/${c.r.evmChainId}`, () => c.r.pub.getBlockNumber());
        if (rec.commit) {
          // A COMMIT needs the lock before its deadline, which D recorded with the vote: no read of
          // the lock per leg and pass (an EVM call each) while it holds.
          const vote = (await d.entry(`xtxevm/${rec.xtxId}/${rec.participant}`)) as { deadline?: number } | null;
          if (typeof vote?.deadline === 'number' && head >= BigInt(vote.deadline)) {
            // A COMMIT that did not arrive in time: the lock can only be released now (an abort on
            // the EVM side, which xtx.evmDone records as lapsed; docs/interop.md, the timing
            // assumption). The lock is read first: it may have been decided since the events.
            const lock = await this.lock(rec.participant, rec.xtxId, rec.legHash);
            if (lock?.status === 'prepared' && head >= lock.deadline) {
              const hash = await c.r.wallet.writeContract({
                address: c.contract,
                abi: CustosParticipant.abi,
                functionName: 'release',
                args: [`0x${rec.xtxId}`, rec.legHash as Hex],
                account: c.r.from,
                chain: null,
              });
              await c.r.pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
            }
            return;
          }
        }
        if (!signed) return;
        // Signed for another set than the contract holds: wait for the members' update (or, for
        // an older set, for the members to sign again under the new one), no revert to pay for.
        const held = await this.once(`epoch/${d.label}/${rec.participant}`, () => this.heldEpoch(d, rec.participant));
        if (held !== rec.epoch) return;
        // Sent by an earlier pass: its `Decided` shows in a later pass, or it is still to be mined;
        // sent again only if the chain lost it (a restarted node) or it reverted.
        const earlier = this.decisions.pending.get(rest);
        if (earlier !== undefined) {
          // Once per pass for a batch's hash, not once per leg.
          const state = await this.once(`tx/${earlier.hash}`, () => this.txState(c.r.pub, earlier.hash));
          if (state === 'mined' || state === 'pending') return;
          if (state === 'reverted' && earlier.batch) this.decisions.sendAlone(rest);
        }
        this.decisions.pending.delete(rest);
        ready.push({ rest, rec, c });
      } catch (e) {
        this.onError(rest, e);
      }
    });
    // The decisions go to the contracts while the outcomes go to D: an endpoint that mines as it
    // takes a transaction (automine) answers a decide once it ran, and D need not wait for that.
    // The lists go together (one block of D can hold them all), not each after the block of the one before.
    await Promise.all([
      this.decisions.send(ready, sent),
      ...outcomeLists(outcomes).map(async ({ send, full }) => {
        try {
          // A list is refused whole for one bad item: then each goes alone, so one cannot hold back the rest.
          if ((await submit({ outcomes: send })) !== 'OK' && full.length > 1) {
            for (const o of full) await submit({ outcomes: [o] });
          }
        } catch (e) {
          this.onError('evmDone', e);
        }
      }),
    ]);
    return open.filter((rest) => sent.has(rest));
  }
}
