/**
 * Where an EVM leg of a cross-chain transaction stands (`custos xtx status`): what the decision
 * chain recorded (the proven vote, the decision to carry, the members' signatures, the proven
 * outcome) and, from an EVM endpoint, the prepare transaction, its block, its confirmations and
 * the contract's lock, and the EVM member-set epoch on each side. A COMMIT not yet applied on the
 * EVM chain is flagged when its lock's deadline is near: after it, anyone may release the lock
 * (docs/interop.md, "Deadline margin"). And for every registered contract, the member-set epoch on
 * each side (`custos xtx evm-members`).
 */
import { EVM_MARGIN_BLOCKS, parseEvmParticipant } from '@custos/protocol/interop';
import { createPublicClient, http } from 'viem';
import { EVM_MEMBER_SET_KEY } from '../../governance/evm-member-set.js';
import type { EvmVoteRecord } from '../../modules/xtx-evm.js';
import { type ChainEndpoint, listAll } from '../endpoint.js';
import { CustosParticipant } from './contracts/artifacts.generated.js';

const LOCK = ['none', 'prepared', 'refused', 'committed', 'aborted'] as const;

export interface EvmLegStatus {
  participant: string;
  evmChainId: number;
  contract: string;
  /** The vote the decision chain accepted, or null. */
  vote: 'YES' | 'NO' | null;
  /** The decision the members certify for the contract, with how many signed of how many needed. */
  decision: { commit: boolean; signatures: number; threshold: number } | null;
  /** What the contract did, once proven to the decision chain. */
  outcome: 'committed' | 'aborted' | 'lapsed' | null;
  /** From an EVM endpoint (null without one): the prepare transaction, its block and confirmations, the lock. */
  prepareTx: string | null;
  block: number | null;
  confirmations: number | null;
  lock: (typeof LOCK)[number] | null;
  deadline: number | null;
  /** A COMMIT not applied yet whose lock's deadline is within the margin of the EVM head. */
  atRisk: boolean;
  /**
   * EVM member-set epochs: in force on the decision chain, held by the contract (null without an
   * EVM endpoint), and the one the decision is signed under. A contract behind the chain waits for
   * a relayer's `updateMembers`.
   */
  memberSet: { chain: number | null; contract: number | null; decision: number | null };
}

/** Reads one EVM leg's status from the decision chain `d` and the EVM endpoints given. */
export async function evmLegStatus(
  d: ChainEndpoint | undefined,
  xtxId: string,
  participant: string,
  legHash: string,
  rpcs: { rpcUrl: string }[],
): Promise<EvmLegStatus> {
  const { evmChainId, contract } = parseEvmParticipant(participant);
  const vote = ((await d?.entry(`xtxevm/${xtxId}/${participant}`)) ?? null) as EvmVoteRecord | null;
  const set = ((await d?.entry(EVM_MEMBER_SET_KEY)) ?? null) as { epoch?: number } | null;
  const carried = ((await d?.entry(`xtxevmd/${xtxId}/${participant}`)) ?? null) as {
    commit: boolean;
    epoch: number;
    signatures: unknown[];
    threshold: number;
    outcome?: { status: EvmLegStatus['outcome'] };
  } | null;
  const out: EvmLegStatus = {
    participant,
    evmChainId,
    contract,
    vote: vote?.vote ?? null,
    decision:
      carried === null
        ? null
        : { commit: carried.commit, signatures: carried.signatures.length, threshold: carried.threshold },
    outcome: carried?.outcome?.status ?? null,
    prepareTx: null,
    block: null,
    confirmations: null,
    lock: null,
    deadline: vote?.deadline ?? null,
    atRisk: false,
    memberSet: { chain: set?.epoch ?? null, contract: null, decision: carried?.epoch ?? null },
  };
  for (const { rpcUrl } of rpcs) {
    try {
      const pub = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }), cacheTime: 0 });
      if ((await pub.getChainId()) !== evmChainId) continue;
      const head = Number(await pub.getBlockNumber());
      const lock = (await pub.readContract({
        address: contract as `0x${string}`,
        abi: CustosParticipant.abi,
        functionName: 'lockOf',
        args: [`0x${xtxId}`, legHash as `0x${string}`],
      })) as { status: number; deadline: bigint };
      out.lock = LOCK[lock.status] ?? null;
      const [epoch] = (await pub.readContract({
        address: contract as `0x${string}`,
        abi: CustosParticipant.abi,
        functionName: 'memberSet',
      })) as [bigint, unknown, bigint];
      out.memberSet.contract = Number(epoch);
      if (lock.status !== 0) out.deadline = Number(lock.deadline);
      const logs = await pub.getContractEvents({
        address: contract as `0x${string}`,
        abi: CustosParticipant.abi,
        eventName: 'Voted',
        args: { xtxId: `0x${xtxId}` },
        fromBlock: 0n,
      });
      // The planned leg's vote; another leg prepared under the same id is not this one.
      const l = logs.find((e) => e.args.legHash === legHash);
      if (l?.blockNumber != null) {
        out.prepareTx = l.transactionHash;
        out.block = Number(l.blockNumber);
        out.confirmations = head - out.block;
      }
      out.atRisk =
        carried?.commit === true &&
        out.lock === 'prepared' &&
        out.deadline !== null &&
        head + EVM_MARGIN_BLOCKS / 2 >= out.deadline;
      break;
    } catch {
      // An unreachable endpoint leaves the EVM fields null; the next one may answer.
    }
  }
  return out;
}

/** One registered participant contract's member set: in force on the decision chain and held by the contract. */
export interface EvmMemberSetStatus {
  participant: string;
  /** The EVM member set in force on the decision chain (`gov/evm-memberset`). */
  chain: { epoch: number; ready: boolean; keys: number; threshold: number } | null;
  /** Members' signatures recorded for the contract over the set in force (`evmmu/`). */
  signed: number;
  /** The epoch the contract holds, from an EVM endpoint of its chain (null without one). */
  contract: number | null;
  /** The contract is behind the decision chain: a relayer's `updateMembers` is due. */
  pending: boolean;
}

/** The member-set epoch of every registered participant contract, on the decision chain `d` and on the contract. */
export async function evmMemberSets(d: ChainEndpoint, rpcs: { rpcUrl: string }[]): Promise<EvmMemberSetStatus[]> {
  const set = (await d.entry(EVM_MEMBER_SET_KEY)) as {
    epoch: number;
    ready: boolean;
    addresses: string[];
    threshold: number;
  } | null;
  const clients = new Map<number, ReturnType<typeof createPublicClient>>();
  for (const { rpcUrl } of rpcs) {
    try {
      const pub = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }), cacheTime: 0 });
      clients.set(await pub.getChainId(), pub);
    } catch {
      // An unreachable endpoint: its contracts' epochs stay unknown.
    }
  }
  const out: EvmMemberSetStatus[] = [];
  for (const { value } of await listAll(d, 'evmp/')) {
    const { participant, evmChainId, contract } = value as {
      participant: string;
      evmChainId: number;
      contract: string;
    };
    const rec =
      set === null ? null : ((await d.entry(`evmmu/${participant}/${set.epoch}`)) as { signatures?: unknown[] } | null);
    let held: number | null = null;
    try {
      const [epoch] = ((await clients.get(evmChainId)?.readContract({
        address: contract as `0x${string}`,
        abi: CustosParticipant.abi,
        functionName: 'memberSet',
      })) ?? [null]) as [bigint | null];
      held = epoch === null ? null : Number(epoch);
    } catch {
      // No contract there (another chain under the same id): unknown.
    }
    out.push({
      participant,
      chain:
        set === null
          ? null
          : { epoch: set.epoch, ready: set.ready, keys: set.addresses.length, threshold: set.threshold },
      signed: rec?.signatures?.length ?? 0,
      contract: held,
      pending: set !== null && held !== null && held < set.epoch,
    });
  }
  return out;
}
