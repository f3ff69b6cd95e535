/**
 * The member set and block parameters in force at a state: what certifies the next block and how
 * the orderer cuts it. Governance changes them from the height after the one that executes the
 * change; before any governance transaction they are the genesis ones.
 *
 * Built from point reads only (`gov/members`, `member/<id>`, `gov/params`), so a light client gets
 * the same answer from state proofs of those keys as a peer gets from its store.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import {
  type Genesis,
  MEMBER_SET_KEY,
  type MemberSet,
  type MemberSetEntry,
  memberSetEntry,
} from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import { type MemberRecord, memberKey } from '../modules/member-state.js';
import { type GetJson, GOV_MEMBERS, GOV_PARAMS, type GovParams, type MemberRegistry } from './state.js';

/** What a peer's store (or an auditor's replay) offers; `getMeta('genesis')` is used when no genesis is given. */
export interface GovStateReader {
  getState(key: string): string | undefined;
  getMeta?(key: string): string | undefined;
}

type GenesisPart = Pick<Genesis, 'members' | 'threshold' | 'params'>;

/**
 * The member set (ids, current keys, quorum threshold) in the state `reader` holds.
 *
 * @example
 * // Before committing block h, the set in the store (state after h-1) is the one that certifies h.
 * const set = memberSetAt(node.store);
 */
export function memberSetAt(reader: GovStateReader, genesis?: GenesisPart): MemberSet {
  return memberSetFromState(jsonReader(reader), () => genesisOf(reader, genesis));
}

/** Block parameters in force: `gov/params`, else the genesis ones. */
export function blockParams(
  reader: GovStateReader,
  genesis?: GenesisPart,
): { blockMaxTxs: number; blockMaxMs: number } {
  const { blockMaxTxs, blockMaxMs } = paramsFromState(jsonReader(reader), () => genesisOf(reader, genesis));
  return { blockMaxTxs, blockMaxMs };
}

/**
 * The member set from JSON point reads (execution context, or values a light client verified with
 * state proofs). `genesis` is consulted only when governance has not written its state yet.
 */
export function memberSetFromState(get: GetJson, genesis: () => GenesisPart): MemberSet {
  const registry = get(GOV_MEMBERS) as MemberRegistry | undefined;
  const ids = registry?.ids ?? genesis().members.map((m) => m.id);
  const members: MemberSet['members'] = [];
  for (const id of ids) {
    const m = get(memberKey(id)) as MemberRecord | undefined;
    if (m === undefined)
      throw new NodeError('STORE_CORRUPT', `member '${id}' is listed in gov/members but has no record`);
    members.push({ id, keys: [...m.keys] });
  }
  return { members, threshold: paramsFromState(get, genesis).threshold };
}

/** Quorum threshold and block parameters in force. */
export function paramsFromState(get: GetJson, genesis: () => GenesisPart): GovParams {
  const p = get(GOV_PARAMS) as GovParams | undefined;
  if (p !== undefined) return { threshold: p.threshold, blockMaxTxs: p.blockMaxTxs, blockMaxMs: p.blockMaxMs };
  const g = genesis();
  return { threshold: g.threshold, blockMaxTxs: g.params.blockMaxTxs, blockMaxMs: g.params.blockMaxMs };
}

function jsonReader(reader: GovStateReader): GetJson {
  return (key) => {
    const text = reader.getState(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  };
}

function genesisOf(reader: GovStateReader, genesis: GenesisPart | undefined): GenesisPart {
  if (genesis !== undefined) return genesis;
  const text = reader.getMeta?.('genesis');
  if (text === undefined) throw new NodeError('NOT_INITIALIZED', 'no genesis given and none in this store');
  return JSON.parse(text) as GenesisPart;
}

/**
 * The member-set epoch a block starts, if it changes the member set: `gov/memberset` =
 * `{epoch, effectiveFrom: height + 1, members, threshold}`, written by the executor at the end of
 * the block (whatever changed it: an admission, a removal, a key rotation, an added or revoked key, a
 * threshold change). Verifiers follow these entries, each proven under a header certified by the
 * previous set (`MemberSetUpdate` in the protocol package). Undefined when the set is unchanged.
 */
export function nextMemberSetEntry(
  height: number,
  reader: GovStateReader,
  writes: ReadonlyMap<string, string | null>,
): MemberSetEntry | undefined {
  let touched = false;
  for (const k of writes.keys()) {
    if (k.startsWith('member/') || k === GOV_MEMBERS || k === GOV_PARAMS) {
      touched = true;
      break;
    }
  }
  if (!touched || reader.getMeta?.('genesis') === undefined) return undefined;
  const genesis = () => genesisOf(reader, undefined);
  const before = jsonReader(reader);
  const after: GetJson = (key) => {
    if (!writes.has(key)) return before(key);
    const text = writes.get(key);
    return text === null || text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  };
  const old = memberSetFromState(before, genesis);
  const now = memberSetFromState(after, genesis);
  if (setKey(old) === setKey(now)) return undefined;
  const prev = after(MEMBER_SET_KEY) as MemberSetEntry | undefined;
  return memberSetEntry({ epoch: (prev?.epoch ?? 0) + 1, effectiveFrom: height + 1, members: now });
}

function setKey(s: MemberSet): string {
  const members = [...s.members].sort((a, b) => (a.id < b.id ? -1 : 1)).map((m) => ({ id: m.id, keys: m.keys }));
  return canonicalize({ members, threshold: s.threshold } as unknown as JsonValue);
}
