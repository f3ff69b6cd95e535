/**
 * What each member's peer does for EVM participants (docs/interop.md), from its own EVM endpoint
 * and its own keys, never from a relayer's word:
 *
 * - `EvmAttester`: reads its EVM RPC endpoint and attests (`evm.attestHeaders`, signed with the
 *   member's Ed25519 key) the blocks the decision chain needs, once they have `confirmations`
 *   blocks on top: the blocks holding the registered participant contracts' events, and the final
 *   head (so the decision chain knows how far the EVM chain is, for the deadline margin).
 * - `EvmDecisionSigner`: for every decision the decision chain recorded for an EVM participant
 *   (`xtxevmopen/`), signs the decision digest with the member's secp256k1 key and records the
 *   signature (`xtx.evmSign`), under the EVM member set in force (a decision made under an older
 *   set is signed again for the new one, which contracts will hold). And for every registered
 *   participant, it signs the EVM member set in force for `updateMembers` (`evm.signMembers`),
 *   which relayers submit to the contract. It signs what the ledger recorded, which the ledger
 *   checks again.
 *
 * Both are stateless between passes: what is done is read from the ledger, so a restarted peer
 * carries on where it stopped.
 */
import type { Signer } from '@custos/protocol/crypto';
import { didFromPublicKey } from '@custos/protocol/crypto';
import {
  evmAddress,
  evmDecisionDigest,
  evmMembersDigest,
  evmSign,
  parseEvmParticipant,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { createPublicClient, type Hex, http } from 'viem';
import { NodeError } from '../../errors.js';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry } from '../../governance/evm-member-set.js';
import { type EvmClientRecord, type EvmParticipantRecord, MAX_HEADERS_PER_TX } from '../../modules/evm.js';
import { type EvmMemberUpdateRecord, evmMemberUpdateKey } from '../../modules/evm-members.js';
import { type EvmDecisionToCarry, MAX_SIGNATURES_PER_TX } from '../../modules/xtx-evm.js';
import { eachConcurrently } from '../each-concurrently.js';
import { type ChainEndpoint, listAll } from '../endpoint.js';
import { sleep } from '../until-new-block.js';
import { encodeEvmHeader, type RpcBlock } from './header.js';
import { rpcFetch } from './rpc-fetch.js';
import { evmSignPool } from './sign-pool.js';

/** How far back (blocks) a fresh attester looks for participant events below the attested head. */
const LOOKBACK = 256;
/**
 * How far back a client with no attested header yet is searched: its first votes can lie far below
 * the head (a burst of prepares mined before the members' first pass), and no attested head anchors
 * the window yet. Once a header is attested, the window follows it (oldest blocks first).
 */
const FIRST_LOOKBACK = 4096;
/** The last blocks whose events a pass reads again (a shallow reorganization may have changed them). */
const RESCAN_BLOCKS = 16;
/** Blocks read for events in one `eth_getLogs`. */
const LOG_RANGE = 1000;
/** Transactions a duty submits at once by default. */
const DUTY_CONCURRENCY = 32;

export interface EvmAttesterOptions {
  /** The Custos chain the member attests on (the decision chain). */
  chain: ChainEndpoint;
  /** One of the member's Ed25519 keys. */
  signer: Signer;
  /** The member's own EVM JSON-RPC endpoint. */
  rpcUrl: string;
  /** Blocks on top of a block before it is attested (0: at once, for automine chains in tests). */
  confirmations: number;
  /**
   * Besides blocks with participant events, the final blocks whose number is a multiple of this
   * are attested (default 16), so that members attest the same heads and the decision chain's
   * highest attested block stays within this many blocks (plus `confirmations`) of the head.
   */
  headEvery?: number;
  /** Blocks attested in one pass at most. Default 32. */
  maxPerStep?: number;
  /** Attestations submitted at once. Default 32. */
  concurrency?: number;
  now?: () => number;
}

/** One member's attester of one EVM chain. */
export class EvmAttester {
  private readonly client: ReturnType<typeof createPublicClient>;
  private readonly me: string;
  private evmChainId: number | undefined;
  private readonly handled = new Set<number>();

  constructor(private readonly opts: EvmAttesterOptions) {
    if (!Number.isSafeInteger(opts.confirmations) || opts.confirmations < 0 || opts.confirmations > 10_000) {
      throw new NodeError('BAD_REQUEST', 'confirmations: expected an integer from 0 to 10000');
    }
    // The blocks of a pass are read as JSON-RPC batches: one HTTP round trip for many, over
    // keep-alive node:http connections (about half the CPU of the global fetch per call).
    const transport = http(opts.rpcUrl, { retryCount: 1, batch: { batchSize: 100 }, fetchFn: rpcFetch });
    this.client = createPublicClient({ transport, cacheTime: 0 });
    this.me = didFromPublicKey(opts.signer.publicKey);
  }

  /** The EVM head the last pass read. */
  private lastHead = -1;

  /**
   * Resolves once the EVM chain's head is above the one the last pass read (polled every
   * `pollMs`), or when `signal` aborts: a block with a contract's event is attested without waiting
   * for the duties' interval. An endpoint that does not answer is asked again at the next poll.
   */
  async nextHead(pollMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(pollMs, signal);
      if (signal.aborted) return;
      try {
        if (Number(await this.client.getBlockNumber()) > this.lastHead) return;
      } catch {
        // Asked again at the next poll.
      }
    }
  }

  /** One pass; resolves with the block numbers attested in it. */
  async step(): Promise<number[]> {
    const ep = this.opts.chain;
    this.evmChainId ??= await this.client.getChainId();
    const evmChainId = this.evmChainId;
    const head = Number(await this.client.getBlockNumber());
    this.lastHead = head;
    const final = head - this.opts.confirmations;
    if (final < 0) return [];
    const lc = (await ep.entry(`evmlc/${evmChainId}`)) as unknown as EvmClientRecord | null;
    if (lc?.frozen != null) return [];
    const contracts = (await listAll(ep, 'evmp/'))
      .map((e) => e.value as unknown as EvmParticipantRecord)
      .filter((p) => p.evmChainId === evmChainId)
      .map((p) => p.contract as Hex);
    // Every pass looks from LOOKBACK blocks below the attested head; what it read before is kept
    // (`scan`): only the blocks above it are read, with the last RESCAN_BLOCKS again.
    const lookFrom =
      typeof lc?.highest === 'number'
        ? Math.max(0, Math.min(lc.highest, final) - LOOKBACK)
        : Math.max(0, final - FIRST_LOOKBACK);
    const wanted = await this.eventBlocks(contracts, lookFrom, final);
    const every = this.opts.headEvery ?? 16;
    const max = this.opts.maxPerStep ?? 32;
    // The latest multiples of `every` above the attested head, newest first, at most `max`.
    const heads: number[] = [];
    for (let n = final - (final % every); n > (lc?.highest ?? -1) && heads.length < max; n -= every) heads.push(n);
    // Blocks with events first (votes wait for them), then the newest heads.
    const order = [...[...wanted].sort((a, b) => a - b), ...heads.filter((n) => !wanted.has(n))];
    // Blocks this attester already saw through (memory only: after a restart, the ledger says),
    // forgotten once below the window the pass looks in. Not below the head's window: with the head
    // far above the attested head, the blocks between would be forgotten, read again as the oldest
    // of every pass, and the pass would never reach the blocks above them.
    for (const n of this.handled) if (n < lookFrom) this.handled.delete(n);
    const todo = order.filter((k) => !this.handled.has(k)).slice(0, max);
    const { chainId } = await ep.info();
    // Every block of the pass read at once, then attested in as few transactions as the ledger takes.
    const items = new Map<number, { number: number; hash: string; header: string }>();
    await allOrFirstError(todo, this.opts.concurrency ?? DUTY_CONCURRENCY, async (n) => {
      const block = (await this.client.request({
        method: 'eth_getBlockByNumber',
        params: [`0x${n.toString(16)}`, false],
      })) as RpcBlock | null;
      if (block === null) return;
      const { rlp, header } = encodeEvmHeader(block);
      const att = (await ep.entry(`evmatt/${evmChainId}/${n}/${header.hash}`)) as { members?: string[] } | null;
      const hdr = (await ep.entry(`evmhdr/${evmChainId}/${n}`)) as { hash?: string } | null;
      if (hdr?.hash === header.hash || (att?.members ?? []).some((m) => this.isMe(m))) {
        this.handled.add(n);
        return;
      }
      items.set(n, { number: n, hash: header.hash, header: rlp });
    });
    const attested: number[] = [];
    const batches = chunks(
      todo.filter((n) => items.has(n)),
      MAX_HEADERS_PER_TX,
    );
    await allOrFirstError(batches, this.opts.concurrency ?? DUTY_CONCURRENCY, async (batch) => {
      const headers = batch.map((n) => items.get(n) as { number: number; hash: string; header: string });
      const tx = signTx(
        {
          chainId,
          type: 'evm.attestHeaders',
          args: { evmChainId, headers },
          now: (this.opts.now ?? Date.now)(),
        },
        this.opts.signer,
      );
      const r = await ep.submit(tx);
      if (r.code === 'OK') {
        for (const n of batch) this.handled.add(n);
        attested.push(...batch);
      }
    });
    return todo.filter((n) => attested.includes(n));
  }

  /**
   * The blocks from `lookFrom` to `final` holding events of `contracts`. A cache of the blocks read
   * before (memory only, within the look-back window): a pass reads the logs of the blocks above
   * the last one it read, and the last `RESCAN_BLOCKS` again, so that a shallow reorganization
   * shows; other contracts, or a head below the last read, read the whole window again.
   */
  private async eventBlocks(contracts: Hex[], lookFrom: number, final: number): Promise<Set<number>> {
    const key = contracts.join(',');
    let scan = this.scan;
    if (scan === undefined || scan.contracts !== key || scan.to > final) {
      scan = { contracts: key, to: lookFrom - 1, blocks: new Set() };
    }
    for (const n of scan.blocks) if (n < lookFrom) scan.blocks.delete(n);
    let from = Math.max(lookFrom, scan.to + 1 - RESCAN_BLOCKS);
    for (const n of scan.blocks) if (n >= from) scan.blocks.delete(n);
    // Nothing is kept until the window is read to its end: a failed read leaves the cache as it was.
    this.scan = undefined;
    const found = new Set<number>();
    if (contracts.length > 0) {
      while (from <= final) {
        const to = Math.min(final, from + LOG_RANGE - 1);
        const logs = await this.client.getLogs({ address: contracts, fromBlock: BigInt(from), toBlock: BigInt(to) });
        for (const l of logs) if (l.blockNumber !== null) found.add(Number(l.blockNumber));
        from = to + 1;
      }
    }
    for (const n of found) scan.blocks.add(n);
    scan.to = final;
    this.scan = scan;
    return new Set(scan.blocks);
  }

  /** The blocks with events read so far (`eventBlocks`). */
  private scan: { contracts: string; to: number; blocks: Set<number> } | undefined;

  private memberId: string | undefined;
  private isMe(member: string): boolean {
    return this.memberId === member;
  }

  /** Resolves the member id of this attester's key (for skipping what it already attested). */
  async init(): Promise<this> {
    const id = await this.opts.chain.entry(`memberkey/${this.me}`);
    if (typeof id !== 'string') throw new NodeError('BAD_REQUEST', 'the attester key is not a member key of the chain');
    this.memberId = id;
    return this;
  }
}

export interface EvmDecisionSignerOptions {
  chain: ChainEndpoint;
  /** One of the member's Ed25519 keys (signs the `xtx.evmSign` transaction). */
  signer: Signer;
  /** The member's secp256k1 secret key (the one registered with `member.setEvmKey`). */
  evmKey: Uint8Array;
  /**
   * The member's previous secp256k1 key, kept by its operator after a rotation: while the ledger
   * names it as the member's outgoing key, it co-signs the member-set update that removes it (and
   * nothing else), for contracts that still hold it.
   */
  outgoingKey?: Uint8Array;
  /** Signatures submitted at once. Default 32. */
  concurrency?: number;
  now?: () => number;
}

/** Signs, for one member, every decision the decision chain recorded for an EVM participant. */
export class EvmDecisionSigner {
  private readonly address: string;
  /** The outgoing key's address, derived once (a secp256k1 multiplication, every pass otherwise). */
  private outgoingAddress: string | undefined;
  /**
   * Open decisions (`<xtxId>/<participant>`) this key signed, or found signed or certified, by the
   * epoch they were at: memory only, at most the open decisions of the last pass.
   */
  private readonly settled = new Map<string, number>();

  constructor(private readonly opts: EvmDecisionSignerOptions) {
    this.address = evmAddress(opts.evmKey);
  }

  /**
   * One pass; resolves with `<xtxId>/<participant>` of each decision signed in it, then
   * `evmmu/<participant>/<epoch>` of each member set signed.
   */
  async step(): Promise<string[]> {
    const ep = this.opts.chain;
    const signed: string[] = [];
    const { chainId } = await ep.info();
    const set = (await ep.entry(EVM_MEMBER_SET_KEY)) as unknown as EvmMemberSetEntry | null;
    if (set?.ready === true && this.opts.outgoingKey !== undefined && (await this.outgoingInForce(set))) {
      signed.push(...(await this.signMemberSet(set, chainId, this.opts.outgoingKey)));
    }
    // A key replaced or taken out by governance signs nothing more (the ledger would refuse it).
    if (set !== null && !set.addresses.includes(this.address)) return signed;
    const open = (await listAll(ep, 'xtxevmopen/')).map(({ key }) => key.slice('xtxevmopen/'.length));
    // Decisions that need nothing more from this key at their epoch are not read again until the
    // EVM member set moves past it (which makes them to be signed again); the closed ones go.
    const openNow = new Set(open);
    for (const rest of this.settled.keys()) if (!openNow.has(rest)) this.settled.delete(rest);
    const inForce = set?.ready === true ? set.epoch : -1;
    const pending = open.filter((rest) => (this.settled.get(rest) ?? -1) < Math.max(inForce, 0));
    // Every pending decision in one pass, read at once, signed in as few transactions as the ledger takes.
    const items = new Map<string, { [k: string]: JsonValue }>();
    const epochs = new Map<string, number>();
    const digests = new Map<string, Uint8Array>();
    await allOrFirstError(pending, this.opts.concurrency ?? DUTY_CONCURRENCY, async (rest) => {
      const rec = (await ep.entry(`xtxevmd/${rest}`)) as unknown as EvmDecisionToCarry | null;
      if (rec === null || rec.outcome !== undefined) return;
      // The ledger moves the decision to a later ready set before it records this signature.
      const epoch = set?.ready === true && set.epoch > rec.epoch ? set.epoch : rec.epoch;
      if (epoch === rec.epoch && rec.signatures.some((s) => s.address === this.address)) {
        this.settled.set(rest, epoch);
        return;
      }
      // Certified already: the ledger takes no more signatures of it in a list.
      if (epoch === rec.epoch && rec.signatures.length >= rec.threshold) {
        this.settled.set(rest, epoch);
        return;
      }
      epochs.set(rest, epoch);
      const { evmChainId, contract } = parseEvmParticipant(rec.participant);
      const digest = evmDecisionDigest({ chainId: evmChainId, contract }, rec.xtxId, rec.legHash, rec.commit, epoch);
      digests.set(rest, digest);
      items.set(rest, { xtxId: rec.xtxId, participant: rec.participant });
    });
    // The pass's signatures together, off this thread when there are many (sign-pool.ts).
    const toSign = [...digests.keys()];
    const signatures = await evmSignPool().signAll(
      toSign.map((rest) => digests.get(rest) as Uint8Array),
      this.opts.evmKey,
    );
    for (const [i, rest] of toSign.entries())
      (items.get(rest) as { [k: string]: JsonValue }).signature = signatures[i] as string;
    const done = new Set<string>();
    const batches = chunks(
      open.filter((rest) => items.has(rest)),
      MAX_SIGNATURES_PER_TX,
    );
    await allOrFirstError(batches, this.opts.concurrency ?? DUTY_CONCURRENCY, async (batch) => {
      const args = { signatures: batch.map((rest) => items.get(rest) as { [k: string]: JsonValue }) };
      const tx = signTx({ chainId, type: 'xtx.evmSign', args, now: (this.opts.now ?? Date.now)() }, this.opts.signer);
      if ((await ep.submit(tx)).code === 'OK') {
        for (const rest of batch) {
          done.add(rest);
          this.settled.set(rest, epochs.get(rest) as number);
        }
      }
    });
    signed.push(...open.filter((rest) => done.has(rest)));
    if (set?.ready === true) {
      signed.push(...(await this.signMemberSet(set, chainId, this.opts.evmKey)));
    }
    return signed;
  }

  /** The address of the member's key or of its outgoing key. */
  private addressOf(evmKey: Uint8Array): string {
    if (evmKey === this.opts.evmKey) return this.address;
    if (this.outgoingAddress === undefined) this.outgoingAddress = evmAddress(evmKey);
    return this.outgoingAddress;
  }

  /** True while the ledger takes `outgoingKey` from this member (as `evm.signMembers` checks it). */
  private async outgoingInForce(set: EvmMemberSetEntry): Promise<boolean> {
    const ep = this.opts.chain;
    const address = this.addressOf(this.opts.outgoingKey as Uint8Array);
    if (set.addresses.includes(address) || (await ep.entry(`memberevm/${address}`)) !== null) return false;
    const id = await ep.entry(`memberkey/${didFromPublicKey(this.opts.signer.publicKey)}`);
    if (typeof id !== 'string') return false;
    const m = (await ep.entry(`member/${id}`)) as { evmOutgoingKey?: string } | null;
    return m?.evmOutgoingKey === address;
  }

  /** Signs the EVM member set in force with `evmKey` for each registered participant contract, once. */
  private async signMemberSet(set: EvmMemberSetEntry, chainId: string, evmKey: Uint8Array): Promise<string[]> {
    const ep = this.opts.chain;
    const address = this.addressOf(evmKey);
    const signed: string[] = [];
    for (const { value } of await listAll(ep, 'evmp/')) {
      const p = value as unknown as EvmParticipantRecord;
      const key = evmMemberUpdateKey(p.participant, set.epoch);
      const rec = (await ep.entry(key)) as unknown as EvmMemberUpdateRecord | null;
      if (rec?.signatures.some((s) => s.address === address) === true) continue;
      const digest = evmMembersDigest(
        { chainId: p.evmChainId, contract: p.contract },
        set.epoch,
        set.addresses,
        set.threshold,
      );
      const args: { [k: string]: JsonValue } = {
        participant: p.participant,
        epoch: set.epoch,
        signature: evmSign(digest, evmKey),
      };
      const tx = signTx(
        { chainId, type: 'evm.signMembers', args, now: (this.opts.now ?? Date.now)() },
        this.opts.signer,
      );
      if ((await ep.submit(tx)).code === 'OK') signed.push(key);
    }
    return signed;
  }
}

/** `items` in slices of at most `size`, in order. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `eachConcurrently`, then the first error any item threw, as a pass that stops at it would. */
async function allOrFirstError<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const errors: unknown[] = [];
  await eachConcurrently(items, limit, fn, (_, e) => errors.push(e));
  if (errors.length > 0) throw errors[0];
}
