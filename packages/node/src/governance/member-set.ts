/**
 * The member set and block parameters in force at a state: what certifies the next block and how
 * the orderer cuts it. Governance changes them from the height after the one that executes the
 * change; before any governance transaction they are the genesis ones.
 *
 * Built from point reads only (`gov/members`, `member/<id>`, `gov/params`), so a light client gets
 * the same answer from state proofs of those keys as a peer gets from its store.
 */
import type { JsonValue, MemberSet } from '@custos/protocol';
import { NodeError } from '../errors.js';
import type { Genesis } from '../genesis.js';
import { type MemberRecord, memberKey } from '../modules/member.js';
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
