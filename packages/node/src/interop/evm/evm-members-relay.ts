/**
 * The relayer's member-set step (docs/interop.md, "Member-set updates"): each registered
 * participant contract is moved to the EVM member set in force on the decision chain D, with
 * `updateMembers` and the signatures members recorded on D (`evm.signMembers`, `evmmu/`).
 *
 * In epoch order and idempotent: a contract already at D's epoch (or past it) is left alone; else
 * the relayer takes the latest recorded set that a quorum of the set the contract holds signed
 * (the contract accepts any later epoch, so intermediate ones need not be replayed), and repeats
 * from the set it installed. Another relayer that got there first is not an error: the epoch read
 * back from the contract says the update is in. The state is on D and the contract, none here.
 */
import type { Account, Address, Hex, PublicClient, WalletClient } from 'viem';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry } from '../../governance/evm-member-set.js';
import type { EvmParticipantRecord } from '../../modules/evm.js';
import { EVM_MEMBER_UPDATE_PREFIX, type EvmMemberUpdateRecord } from '../../modules/evm-members.js';
import { type ChainEndpoint, listAll } from '../endpoint.js';
import { CustosParticipant } from './contracts/artifacts.generated.js';

/** The member set a participant contract holds (`memberSet()`), addresses lower-case. */
export interface ContractSet {
  epoch: number;
  members: string[];
  threshold: number;
}

/** One `updateMembers` a relayer submitted: `participant` moved from epoch `from` to `epoch`. */
export interface MemberSetRelayed {
  participant: string;
  from: number;
  epoch: number;
}

/** An EVM chain as the relayer reaches it: clients and the account that pays. */
interface Reached {
  pub: PublicClient;
  wallet: WalletClient;
  from: Address | Account;
}

interface Deps {
  contractSet(participant: string): Promise<ContractSet | undefined>;
  /** An epoch the contract was seen at (it only grows), if one was: no read when that is D's. */
  heldAtLeast?(participant: string): number | undefined;
  chainOf(participant: string): Promise<{ r: Reached; contract: Address } | undefined>;
  onError(label: string, e: unknown): void;
  /** Called as each update is in, before the next is tried. */
  onRelayed(u: MemberSetRelayed): void;
}

/**
 * The least epoch each contract was read at, by participant. A contract's epoch only grows, and
 * never past the EVM member set D holds (its updates carry that set's signatures): once it is at
 * D's epoch, it stays there until D's set moves, and needs no read (an EVM call) per pass.
 */
export class HeldEpochs {
  private readonly epochs = new Map<string, number>();

  seen(participant: string, epoch: number): void {
    this.epochs.set(participant, Math.max(epoch, this.epochs.get(participant) ?? 0));
  }

  atLeast(participant: string): number | undefined {
    return this.epochs.get(participant);
  }

  /** The epoch the contract holds when it is known to be D's (`set`: D's `gov/evm-memberset`), else undefined. */
  atDs(participant: string, set: unknown): number | undefined {
    const epoch = (set as { epoch?: unknown } | null)?.epoch;
    const known = this.epochs.get(participant);
    return known !== undefined && typeof epoch === 'number' && known >= epoch ? known : undefined;
  }
}

/** The signatures of `rec` by members of `held`, sorted by signer (as the contract checks them). */
export function signaturesFor(rec: EvmMemberUpdateRecord, held: ContractSet): Hex[] {
  const members = new Set(held.members);
  return rec.signatures
    .filter((s) => members.has(s.address))
    .sort((a, b) => (a.address < b.address ? -1 : 1))
    .map((s) => s.signature as Hex);
}

/** The latest record after `held` that a quorum of `held` signed, if any. */
export function nextCertified(records: EvmMemberUpdateRecord[], held: ContractSet): EvmMemberUpdateRecord | undefined {
  return records
    .filter((r) => r.epoch > held.epoch && signaturesFor(r, held).length >= held.threshold)
    .sort((a, b) => b.epoch - a.epoch)[0];
}

export async function relayMemberSets(d: ChainEndpoint, deps: Deps): Promise<MemberSetRelayed[]> {
  const out: MemberSetRelayed[] = [];
  const current = (await d.entry(EVM_MEMBER_SET_KEY)) as unknown as EvmMemberSetEntry | null;
  if (current === null) return out;
  for (const { value } of await listAll(d, 'evmp/')) {
    const participant = (value as unknown as EvmParticipantRecord).participant;
    if ((deps.heldAtLeast?.(participant) ?? -1) >= current.epoch) continue;
    try {
      const c = await deps.chainOf(participant);
      let held = c === undefined ? undefined : await deps.contractSet(participant);
      if (c === undefined || held === undefined || held.epoch >= current.epoch) continue;
      const records = (await listAll(d, `${EVM_MEMBER_UPDATE_PREFIX}${participant}/`)).map(
        (e) => e.value as unknown as EvmMemberUpdateRecord,
      );
      for (let next = nextCertified(records, held); next !== undefined; next = nextCertified(records, held)) {
        const from = held.epoch;
        let sent = true;
        try {
          const hash = await c.r.wallet.writeContract({
            address: c.contract,
            abi: CustosParticipant.abi,
            functionName: 'updateMembers',
            args: [BigInt(next.epoch), next.addresses as Address[], BigInt(next.threshold), signaturesFor(next, held)],
            account: c.r.from,
            chain: null,
          });
          const receipt = await c.r.pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
          if (receipt.status !== 'success') throw new Error(`updateMembers to epoch ${next.epoch} reverted`);
        } catch (e) {
          // Another relayer installed it (or a later one) first: nothing to do, nothing to report.
          const now = await deps.contractSet(participant);
          if (now === undefined || now.epoch < next.epoch) throw e;
          sent = false;
        }
        if (sent) {
          const u = { participant, from, epoch: next.epoch };
          out.push(u);
          deps.onRelayed(u);
        }
        const after = await deps.contractSet(participant);
        if (after === undefined || after.epoch <= held.epoch) break;
        held = after;
      }
    } catch (e) {
      deps.onError(participant, e);
    }
  }
  return out;
}
