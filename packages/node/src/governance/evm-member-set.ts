/**
 * The member set as EVM participant contracts hold it (docs/interop.md): each member's EVM address
 * (`member.setEvmKey`), the quorum threshold in force, and an epoch of its own.
 *
 * `gov/evm-memberset` = `{epoch, effectiveFrom, ready, addresses, threshold}` is written by the
 * executor at the end of a block that changes it (an EVM key set or replaced, a member admitted or
 * removed, a threshold change), like `gov/memberset` for the Ed25519 set; not before the first EVM key
is registered, so chains that do not use EVM chains keep their state as before. Its epoch counts EVM set
 * changes only, so an EVM key change does not make other Custos chains' light clients of this chain
 * wait for a member-set update. The threshold is the Custos quorum threshold, never lowered for
 * the EVM side: a member without an EVM key (not registered yet, or taken out by `removeEvmKey`)
 * is left out of `addresses` and simply cannot sign, so a certificate still needs as many members
 * as a Custos quorum. `ready` is false while fewer members have keys than the threshold: no
 * certificate can be made with such a set (nor would a contract accept it). `addresses` are
 * sorted, as the contract requires.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import type { MemberRecord } from '../modules/member-state.js';
import { memberKey } from '../modules/member-state.js';
import { type GovStateReader, memberSetFromState } from './member-set.js';
import { type GetJson, GOV_MEMBERS, GOV_PARAMS } from './state.js';

export const EVM_MEMBER_SET_KEY = 'gov/evm-memberset';

export interface EvmMemberSetEntry {
  epoch: number;
  /** First height at which this set is the one members sign with. */
  effectiveFrom: number;
  /** True when at least `threshold` members have an EVM key. */
  ready: boolean;
  /** The members' EVM addresses, sorted; members without a key are left out. */
  addresses: string[];
  threshold: number;
  [k: string]: JsonValue;
}

/** The EVM member set in force at a state, or undefined before any was recorded. */
export function evmMemberSetAt(reader: GovStateReader): EvmMemberSetEntry | undefined {
  const text = reader.getState(EVM_MEMBER_SET_KEY);
  return text === undefined ? undefined : (JSON.parse(text) as EvmMemberSetEntry);
}

/** The EVM member set a block's writes lead to, if it differs from the one before; undefined otherwise. */
export function nextEvmMemberSetEntry(
  height: number,
  reader: GovStateReader,
  writes: ReadonlyMap<string, string | null>,
): EvmMemberSetEntry | undefined {
  let touched = false;
  for (const k of writes.keys()) {
    if (k.startsWith('member/') || k === GOV_MEMBERS || k === GOV_PARAMS) {
      touched = true;
      break;
    }
  }
  const genesisText = reader.getMeta?.('genesis');
  if (!touched || genesisText === undefined) return undefined;
  const genesis = () => JSON.parse(genesisText);
  const before: GetJson = (key) => {
    const text = reader.getState(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  };
  const after: GetJson = (key) => {
    if (!writes.has(key)) return before(key);
    const text = writes.get(key);
    return text === null || text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  };
  const old = evmSet(before, genesis);
  const now = evmSet(after, genesis);
  if (canonicalize(old as unknown as JsonValue) === canonicalize(now as unknown as JsonValue)) return undefined;
  const prev = after(EVM_MEMBER_SET_KEY) as EvmMemberSetEntry | undefined;
  // A chain whose members never registered an EVM key keeps its state (and roots) as before.
  if (prev === undefined && now.addresses.length === 0) return undefined;
  return { epoch: (prev?.epoch ?? 0) + 1, effectiveFrom: height + 1, ...now };
}

function evmSet(
  get: GetJson,
  genesis: Parameters<typeof memberSetFromState>[1],
): Pick<EvmMemberSetEntry, 'ready' | 'addresses' | 'threshold'> {
  const set = memberSetFromState(get, genesis);
  const addresses: string[] = [];
  for (const { id } of set.members) {
    const evmKey = (get(memberKey(id)) as MemberRecord | undefined)?.evmKey;
    if (typeof evmKey === 'string') addresses.push(evmKey);
  }
  return { ready: addresses.length >= set.threshold, addresses: addresses.sort(), threshold: set.threshold };
}
