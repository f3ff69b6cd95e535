/**
 * Member-set epochs on a peer: when a block changes the member set, the executor writes
 * `gov/memberset` (`nextMemberSetEntry`), and the peer keeps, with the block and in the same SQLite
 * transaction, the state proof of that entry under the block's state root (meta `epoch/<n>`): the
 * state tree keeps only the latest state, so the proof could not be made later. Once the block is
 * final, its certificate (by the previous set) completes a `MemberSetUpdate` that any verifier can
 * check (`verifyMemberSetUpdate` in the protocol package). A peer started from a snapshot keeps the
 * updates the snapshot carried, whole.
 */
import type { Verifier } from '@custos/protocol/crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  followMemberSetUpdates,
  type Genesis,
  genesisMemberChain,
  MEMBER_SET_KEY,
  MEMBER_SET_UPDATE,
  type MemberSetChain,
  type MemberSetEntry,
  type MemberSetUpdate,
  memberSetOf,
  type QuorumCertificate,
} from '@custos/protocol/ledger';
import type { StateProofJson } from '@custos/protocol/state';
import { NodeError } from '../errors.js';

export const EPOCH_META_PREFIX = 'epoch/';
/** Most updates in one answer of `GET /v1/members/epochs`. */
export const MAX_EPOCHS_PAGE = 256;

/** What a peer keeps per epoch (meta `epoch/<n>`). `header` and `certificate` only when imported from a snapshot. */
export interface EpochRecord {
  epoch: number;
  /** Height of the block that executed the change. */
  height: number;
  entry: MemberSetEntry;
  proof: StateProofJson;
  header?: BlockHeader;
  certificate?: QuorumCertificate;
}

/** Meta rows to commit with a block whose writes start an epoch (none otherwise). */
export function epochRecord(
  writes: ReadonlyMap<string, string | null>,
  height: number,
  prove: () => StateProofJson,
): [string, string][] | undefined {
  const text = writes.get(MEMBER_SET_KEY);
  if (text === undefined || text === null) return undefined;
  const entry = JSON.parse(text) as MemberSetEntry;
  const rec: EpochRecord = { epoch: entry.epoch, height, entry, proof: prove() };
  return [[`${EPOCH_META_PREFIX}${entry.epoch}`, canonicalize(rec as unknown as JsonValue)]];
}

/** Meta rows for updates imported with a snapshot (kept whole: the peer has no older blocks). */
export function importedEpochRecords(updates: readonly MemberSetUpdate[]): [string, string][] {
  return updates.map((u) => {
    const rec: EpochRecord = {
      epoch: u.epoch,
      height: u.header.height,
      entry: {
        epoch: u.epoch,
        effectiveFrom: u.effectiveFrom,
        members: u.members.members,
        threshold: u.members.threshold,
      },
      proof: u.proof,
      header: u.header,
      certificate: u.certificate,
    };
    return [`${EPOCH_META_PREFIX}${u.epoch}`, canonicalize(rec as unknown as JsonValue)];
  });
}

/** What the epochs are read from: a peer's store and its finality. */
export interface EpochSource {
  store: {
    getState(key: string): string | undefined;
    getMeta(key: string): string | undefined;
    getHeader(height: number): { header: BlockHeader; qc: QuorumCertificate | null } | null;
  };
  chainId: string;
  /** Latest final height (-1: none); updates of later blocks are not served yet. */
  latestFinal(): number;
  collectsSignatures(): boolean;
  latest(): BlockHeader;
}

/** The latest epoch in the peer's state (0 before any change). */
export function currentEpoch(source: Pick<EpochSource, 'store'>): number {
  const text = source.store.getState(MEMBER_SET_KEY);
  return text === undefined ? 0 : (JSON.parse(text) as MemberSetEntry).epoch;
}

/**
 * The certified member-set updates from epoch `from` (default 1), in order, at most `limit`, and
 * only of epochs in force at or before `upToHeight` (default: any final one). Stops at the first
 * epoch whose block is not final yet.
 */
export function memberSetUpdates(
  source: EpochSource,
  opts: { from?: number; limit?: number; upToHeight?: number } = {},
): MemberSetUpdate[] {
  const from = Math.max(1, opts.from ?? 1);
  const limit = Math.min(opts.limit ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const last = currentEpoch(source);
  const final = source.collectsSignatures() ? source.latestFinal() : source.latest().height;
  const out: MemberSetUpdate[] = [];
  for (let e = from; e <= last && out.length < limit; e++) {
    const text = source.store.getMeta(`${EPOCH_META_PREFIX}${e}`);
    if (text === undefined) {
      throw new NodeError('STORE_CORRUPT', `the proof of member-set epoch ${e} is missing on this peer`);
    }
    const rec = JSON.parse(text) as EpochRecord;
    if (opts.upToHeight !== undefined && rec.entry.effectiveFrom > opts.upToHeight) break;
    const row = rec.header === undefined ? source.store.getHeader(rec.height) : null;
    const header = rec.header ?? row?.header;
    const certificate = rec.certificate ?? row?.qc ?? undefined;
    if (header === undefined || certificate === undefined) break;
    if (rec.certificate === undefined && rec.height > final) break;
    out.push({
      type: MEMBER_SET_UPDATE,
      chainId: source.chainId,
      epoch: rec.epoch,
      effectiveFrom: rec.entry.effectiveFrom,
      members: { members: rec.entry.members, threshold: rec.entry.threshold },
      header,
      certificate,
      proof: rec.proof,
    });
  }
  return out;
}

/** The peer's own chain of trust: genesis plus every final update, each verified. */
export function memberSetChainOf(source: EpochSource, genesis: Genesis, verifier: Verifier): MemberSetChain {
  return followMemberSetUpdates(
    genesisMemberChain(genesis.chainId, memberSetOf(genesis)),
    memberSetUpdates(source),
    verifier,
  );
}
