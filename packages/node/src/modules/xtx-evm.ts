/**
 * EVM participants of a cross-chain transaction on its decision chain D (docs/interop.md, "Vote:
 * EVM to Custos" and "Decision: Custos to EVM").
 *
 * - `xtx.evmVote {xtx, participant, number, index, proof, decide?}` on D, by anyone (a relayer): the
 *   receipt at `index` of EVM block `number`, proven against the `receiptsRoot` of that block's
 *   header as a quorum of members attested it (`evmhdr/`), must have status 1 and a
 *   `Voted(xtxId, yes, legHash, deadline)` log emitted by the registered participant contract,
 *   with this transaction's id and the `legHash` of its leg in the plan. Records the vote in
 *   `xtxevm/<xtxId>/<participant>`, once. With `decide: true`, D also decides and finalizes its
 *   own part in the same transaction once that was the last vote it waited for (modules/xtx.ts).
 * - `xtx.decide` (modules/xtx.ts) reads those votes; it records COMMIT only while each EVM lock's
 *   deadline is at least `EVM_MARGIN_BLOCKS` after the highest attested block of its chain, and
 *   while the EVM member set can certify; then writes `xtxevmd/<xtxId>/<participant>` (the decision
 *   to carry, the EVM member-set epoch and threshold) and `xtxevmopen/<xtxId>/<participant>`, what
 *   members' peers and relayers scan until the EVM side is done.
 * - `xtx.evmSign {xtxId, participant, signature}` (or a list of them, `{signatures}`), by a member key: the member's secp256k1
 *   signature (its registered EVM key) over the decision digest of what D recorded, added to
 *   `xtxevmd/`. Relayers assemble the threshold of them and call `decide` on the contract. If the
 *   EVM member set moved to a later epoch since the decision, the record moves with it first
 *   (`rebased`): contracts follow the set and take certificates of its epoch only.
 * - `xtx.evmDone {xtxId, participant, number, index, proof}` (or a list, `{outcomes}`), by anyone: a receipt proven under an
 *   attested header with the contract's `Decided` event for this transaction's planned leg (or
 *   `Lapsed`, that lock released after its deadline; another leg's events under the same id do not
 *   count) ends the work: `xtxevmd/` records the EVM outcome and the open
 *   entry goes. A `Lapsed` after a COMMIT is recorded as such: the case the margin exists to avoid.
 */
import {
  type CrossChainTx,
  EVM_MARGIN_BLOCKS,
  EVM_MAX_VIEW_AGE_MS,
  type EvmReceipt,
  evmDecidedEvents,
  evmDecisionDigest,
  evmLapsedEvents,
  evmParticipants,
  evmRecover,
  evmVotedEvents,
  legHashOf,
  parseEvmParticipant,
  verifyEvmReceiptProof,
  type XtxVote,
  xtxDecisionKey,
} from '@custos/protocol/interop';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry } from '../governance/evm-member-set.js';
import { type EvmHeaderRecord, type EvmParticipantRecord, evmClient, evmHeaderKey, evmParticipantKey } from './evm.js';
import { pruneMemberUpdates } from './evm-members.js';
import { checked } from './interop.js';
import { type MemberRecord, memberKey, memberOfKey } from './member-state.js';

/** State `xtxevm/<xtxId>/<participant>` on D: the proven EVM vote. */
export interface EvmVoteRecord {
  xtxId: string;
  participant: string;
  vote: XtxVote;
  legHash: string;
  /** The lock's deadline block on the EVM chain. */
  deadline: number;
  number: number;
  blockHash: string;
  index: number;
  height: number;
}

/** State `xtxevmd/<xtxId>/<participant>` on D: the decision the members certify for the contract. */
export interface EvmDecisionToCarry {
  xtxId: string;
  participant: string;
  /** The planned leg's hash: the lock the members' signatures decide. */
  legHash: string;
  commit: boolean;
  epoch: number;
  threshold: number;
  /** Members' signatures, sorted by address. */
  signatures: { member: string; address: string; signature: string }[];
  height: number;
  /** What the contract did, once proven (`xtx.evmDone`). */
  outcome?: { status: 'committed' | 'aborted' | 'lapsed'; number: number; index: number; height: number };
}

export const evmVoteKey = (xtxId: string, participant: string) => `xtxevm/${xtxId}/${participant}`;
export const evmDecisionKey = (xtxId: string, participant: string) => `xtxevmd/${xtxId}/${participant}`;
export const evmOpenKey = (xtxId: string, participant: string) => `xtxevmopen/${xtxId}/${participant}`;
const SIGNATURE = /^0x[0-9a-f]{130}$/;
/** Signatures in one `xtx.evmSign` (each about 330 bytes: 64 stay well under a body's 32 KiB). */
export const MAX_SIGNATURES_PER_TX = 64;
/** Outcomes in one `xtx.evmDone` (each carries a receipt proof: the relayer also keeps the body under 32 KiB). */
export const MAX_OUTCOMES_PER_TX = 16;

/** Why this chain cannot take part with an EVM participant (unregistered, or its client frozen), or undefined. */
export function missingEvmClient(ctx: Pick<ExecContext, 'get'>, xtx: CrossChainTx): string | undefined {
  for (const p of evmParticipants(xtx)) {
    if (ctx.get(evmParticipantKey(p)) === undefined) return `EVM participant '${p}' is not registered here`;
    const c = evmClient(ctx, parseEvmParticipant(p).evmChainId);
    if (c?.frozen != null) return `the client of the EVM chain of '${p}' is frozen`;
  }
  return undefined;
}

/**
 * The EVM participants' proven votes for `decide`, and whether every YES leaves the margin: each
 * lock's deadline at least `EVM_MARGIN_BLOCKS` after the highest attested block of its chain.
 */
export function evmVotes(
  ctx: Pick<ExecContext, 'get' | 'time'>,
  xtx: CrossChainTx,
  xtxId: string,
): { votes: Map<string, XtxVote | null>; marginOk: boolean; certifiable: boolean; stale: string | undefined } {
  const votes = new Map<string, XtxVote | null>();
  let marginOk = true;
  let stale: string | undefined;
  for (const p of evmParticipants(xtx)) {
    const rec = ctx.get(evmVoteKey(xtxId, p)) as unknown as EvmVoteRecord | undefined;
    votes.set(p, rec?.vote ?? null);
    if (rec?.vote === 'YES') {
      const evmChainId = parseEvmParticipant(p).evmChainId;
      const highest = evmClient(ctx, evmChainId)?.highest ?? rec.number;
      if (rec.deadline < highest + EVM_MARGIN_BLOCKS) marginOk = false;
      const head = ctx.get(evmHeaderKey(evmChainId, highest)) as unknown as EvmHeaderRecord | undefined;
      const age = ctx.time - (head?.timestamp ?? 0) * 1000;
      if (age > EVM_MAX_VIEW_AGE_MS) {
        stale = `the newest attested block of EVM chain ${evmChainId} (${highest}) is ${Math.round(age / 1000)} s old: waiting for its members' attesters`;
      }
    }
  }
  if (votes.size === 0) return { votes, marginOk, certifiable: true, stale };
  const set = ctx.get(EVM_MEMBER_SET_KEY) as unknown as EvmMemberSetEntry | undefined;
  return { votes, marginOk, certifiable: set?.ready === true, stale };
}

/** After D recorded its decision: what the members certify for each EVM participant. */
export function recordEvmDecisions(ctx: ExecContext, xtx: CrossChainTx, xtxId: string, commit: boolean): void {
  const set = ctx.get(EVM_MEMBER_SET_KEY) as unknown as EvmMemberSetEntry | undefined;
  for (const p of evmParticipants(xtx)) {
    const rec: EvmDecisionToCarry = {
      xtxId,
      participant: p,
      legHash: legHashOf(xtx, p),
      commit,
      epoch: set?.epoch ?? 0,
      threshold: set?.threshold ?? Number.MAX_SAFE_INTEGER,
      signatures: [],
      height: ctx.height,
    };
    ctx.put(evmDecisionKey(xtxId, p), rec);
    ctx.put(evmOpenKey(xtxId, p), { xtxId, participant: p });
  }
}

export function evmVote(ctx: ExecContext, args: Args, parse: (args: Args) => { xtx: CrossChainTx; id: string }) {
  arg.only(args, ['xtx', 'participant', 'number', 'index', 'proof', 'decide']);
  arg.optBool(args, 'decide');
  const { xtx, id } = parse(args);
  if (xtx.decisionChain !== ctx.chainId) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `the decision chain of this cross-chain transaction is '${xtx.decisionChain}'`,
    );
  }
  const participant = arg.str(args, 'participant', 80);
  if (!evmParticipants(xtx).includes(participant)) {
    throw new ExecFailure('INVALID_ARGS', 'expected args.participant as an EVM participant of this transaction');
  }
  const number = arg.int(args, 'number', 0, Number.MAX_SAFE_INTEGER);
  const index = arg.int(args, 'index', 0, 1_000_000);
  if (ctx.get(xtxDecisionKey(id)) !== undefined) throw new ExecFailure('CONFLICT', 'already decided');
  if (ctx.get(evmVoteKey(id, participant)) !== undefined) {
    throw new ExecFailure('CONFLICT', `the vote of '${participant}' is already recorded`);
  }
  const { receipt, reg, header } = provenReceipt(ctx, participant, number, index, args.proof);
  const events = evmVotedEvents(receipt, reg.contract).filter((e) => e.xtxId === id);
  if (events.length !== 1) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      receipt.status !== 1
        ? 'the proven receipt is of a failed transaction'
        : 'the proven receipt holds no Voted event of the registered contract for this cross-chain transaction',
    );
  }
  const ev = events[0]!;
  if (ev.legHash !== legHashOf(xtx, participant)) {
    throw new ExecFailure('UNAUTHORIZED', 'the EVM vote is for another leg than the one in the plan');
  }
  const rec: EvmVoteRecord = {
    xtxId: id,
    participant,
    vote: ev.yes ? 'YES' : 'NO',
    legHash: ev.legHash,
    deadline: ev.deadline,
    number,
    blockHash: header.hash,
    index,
    height: ctx.height,
  };
  ctx.put(evmVoteKey(id, participant), rec);
  return 'OK' as const;
}

/**
 * `xtx.evmSign {xtxId, participant, signature}`, or `{signatures: [{xtxId, participant, signature}, ...]}`
 * (up to `MAX_SIGNATURES_PER_TX`): a member's signatures of recorded decisions, each checked as
 * alone. In a list, a malformed or wrong signature refuses the whole transaction; a decision the
 * member already signed, that already holds the threshold of signatures, or whose outcome is
 * proven, is skipped; CONFLICT when all of them are.
 */
export function evmSign(ctx: ExecContext, args: Args) {
  const who = memberOfKey(ctx, ctx.signer);
  if (args.signatures === undefined) {
    arg.only(args, ['xtxId', 'participant', 'signature']);
    if (who === undefined) throw new ExecFailure('UNAUTHORIZED', 'expected xtx.evmSign signed by a member key');
    const skipped = signOne(ctx, who, args);
    if (skipped !== undefined) throw new ExecFailure('CONFLICT', skipped);
    return 'OK' as const;
  }
  arg.only(args, ['signatures']);
  if (who === undefined) throw new ExecFailure('UNAUTHORIZED', 'expected xtx.evmSign signed by a member key');
  const list = args.signatures;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SIGNATURES_PER_TX) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `expected args.signatures as a list of 1-${MAX_SIGNATURES_PER_TX} {xtxId, participant, signature}`,
    );
  }
  let recorded = 0;
  let skipped: string | undefined;
  for (const [i, x] of list.entries()) {
    const where = `args.signatures[${i}]`;
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      throw new ExecFailure('INVALID_ARGS', `expected ${where} as {xtxId, participant, signature}`);
    }
    try {
      arg.only(x as Args, ['xtxId', 'participant', 'signature']);
      const why = signOne(ctx, who, x as Args, true);
      if (why === undefined) recorded++;
      else skipped ??= why;
    } catch (e) {
      if (e instanceof ExecFailure) throw new ExecFailure(e.result, `${where}: ${e.message}`);
      throw e;
    }
  }
  if (recorded === 0) throw new ExecFailure('CONFLICT', `nothing to sign: ${skipped}`);
  return 'OK' as const;
}

/** Adds `who`'s signature to one recorded decision; returns why it added nothing (a CONFLICT), or undefined. */
function signOne(ctx: ExecContext, who: string, args: Args, uptoThreshold = false): string | undefined {
  const xtxId = arg.str(args, 'xtxId', 64, /^[0-9a-f]{64}$/);
  const participant = arg.str(args, 'participant', 80);
  const signature = arg.str(args, 'signature', 132, SIGNATURE);
  let rec = ctx.get(evmDecisionKey(xtxId, participant)) as unknown as EvmDecisionToCarry | undefined;
  if (rec === undefined) throw new ExecFailure('NOT_FOUND', 'no decision to certify for this EVM participant');
  if (rec.outcome !== undefined) return `the EVM side is already ${rec.outcome.status}`;
  const m = ctx.get(memberKey(who)) as unknown as MemberRecord | undefined;
  if (typeof m?.evmKey !== 'string') throw new ExecFailure('UNAUTHORIZED', `member '${who}' has no EVM key`);
  rec = rebased(ctx, rec);
  if (rec.signatures.some((s) => s.member === who)) return `member '${who}' already signed`;
  // In a list, a decision certified by the threshold takes no more: the contract needs no more,
  // and each one more would cost a recovery here and a check in the contract's gas.
  if (uptoThreshold && rec.signatures.length >= rec.threshold)
    return 'the decision already holds the threshold of signatures';
  const { evmChainId, contract } = parseEvmParticipant(participant);
  const digest = evmDecisionDigest({ chainId: evmChainId, contract }, xtxId, rec.legHash, rec.commit, rec.epoch);
  let signer: string;
  try {
    // The member's registered address as the expected signer: the same result, checked faster.
    signer = evmRecover(digest, signature, m.evmKey);
  } catch (e) {
    throw new ExecFailure('INVALID_ARGS', `args.signature: ${(e as Error).message}`);
  }
  if (signer !== m.evmKey) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      `the signature is not by the EVM key of member '${who}' over the recorded decision`,
    );
  }
  const signatures = [...rec.signatures, { member: who, address: signer, signature }].sort((a, b) =>
    a.address < b.address ? -1 : 1,
  );
  ctx.put(evmDecisionKey(xtxId, participant), { ...rec, signatures });
  return undefined;
}

/**
 * The decision to carry under the EVM member set in force: once governance moved the set to a
 * later (ready) epoch, contracts follow it (`updateMembers`) and refuse certificates of the old
 * one, so the decision is signed again for the new epoch (the signatures gathered so far go).
 */
export function rebased(ctx: Pick<ExecContext, 'get'>, rec: EvmDecisionToCarry): EvmDecisionToCarry {
  const set = ctx.get(EVM_MEMBER_SET_KEY) as unknown as EvmMemberSetEntry | undefined;
  if (set === undefined || !set.ready || set.epoch <= rec.epoch) return rec;
  return { ...rec, epoch: set.epoch, threshold: set.threshold, signatures: [] };
}

/**
 * `xtx.evmDone {xtxId, participant, number, index, proof}`, or `{outcomes: [...]}` (up to
 * `MAX_OUTCOMES_PER_TX`): the contract's outcomes proven, each checked as alone. In a list, an
 * outcome that fails its check refuses the whole transaction; one already recorded (another
 * relayer's) is skipped; CONFLICT when all of them are. An outcome of the list may leave out
 * `proof` when an earlier one proved the same receipt (same participant, block and index: the legs
 * of one `decideMany`), which is then proven once; an outcome that gives one is checked against it.
 */
export function evmDone(ctx: ExecContext, args: Args) {
  if (args.outcomes === undefined) {
    arg.only(args, ['xtxId', 'participant', 'number', 'index', 'proof']);
    const skipped = doneOne(ctx, args);
    if (skipped !== undefined) throw new ExecFailure('CONFLICT', skipped);
    return 'OK' as const;
  }
  arg.only(args, ['outcomes']);
  const list = args.outcomes;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OUTCOMES_PER_TX) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `expected args.outcomes as a list of 1-${MAX_OUTCOMES_PER_TX} {xtxId, participant, number, index, proof}`,
    );
  }
  let recorded = 0;
  let skipped: string | undefined;
  const receipts = new Map<string, ProvenReceipt>();
  for (const [i, x] of list.entries()) {
    const where = `args.outcomes[${i}]`;
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      throw new ExecFailure('INVALID_ARGS', `expected ${where} as {xtxId, participant, number, index, proof}`);
    }
    try {
      arg.only(x as Args, ['xtxId', 'participant', 'number', 'index', 'proof']);
      const why = doneOne(ctx, x as Args, receipts);
      if (why === undefined) recorded++;
      else skipped ??= why;
    } catch (e) {
      if (e instanceof ExecFailure) throw new ExecFailure(e.result, `${where}: ${e.message}`);
      throw e;
    }
  }
  if (recorded === 0) throw new ExecFailure('CONFLICT', `nothing to record: ${skipped}`);
  return 'OK' as const;
}

type ProvenReceipt = ReturnType<typeof provenReceipt>;

/**
 * Records one proven outcome; returns why it recorded nothing (already recorded: a CONFLICT), or
 * undefined. `receipts` (in a list) holds the receipts proven by earlier outcomes, by participant,
 * block and index: an outcome without `proof` takes its receipt from there.
 */
function doneOne(ctx: ExecContext, args: Args, receipts?: Map<string, ProvenReceipt>): string | undefined {
  const xtxId = arg.str(args, 'xtxId', 64, /^[0-9a-f]{64}$/);
  const participant = arg.str(args, 'participant', 80);
  const number = arg.int(args, 'number', 0, Number.MAX_SAFE_INTEGER);
  const index = arg.int(args, 'index', 0, 1_000_000);
  const rec = ctx.get(evmDecisionKey(xtxId, participant)) as unknown as EvmDecisionToCarry | undefined;
  if (rec === undefined) throw new ExecFailure('NOT_FOUND', 'no decision for this EVM participant');
  if (rec.outcome !== undefined) return `the EVM side is already ${rec.outcome.status}`;
  const at = `${participant}/${number}/${index}`;
  let proven = args.proof === undefined ? receipts?.get(at) : undefined;
  if (proven === undefined) {
    if (args.proof === undefined && receipts !== undefined) {
      throw new ExecFailure(
        'INVALID_ARGS',
        `expected args.proof: no earlier outcome proves receipt ${index} of block ${number}`,
      );
    }
    proven = provenReceipt(ctx, participant, number, index, args.proof);
    receipts?.set(at, proven);
  }
  const { receipt, reg } = proven;
  // Only the planned leg's lock counts: another leg prepared under the same id is not this one.
  const ours = (e: { xtxId: string; legHash: string }) => e.xtxId === xtxId && e.legHash === rec.legHash;
  const decided = evmDecidedEvents(receipt, reg.contract).find(ours);
  const lapsed = evmLapsedEvents(receipt, reg.contract).some(ours);
  if (decided === undefined && !lapsed) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      'the proven receipt holds no Decided or Lapsed event of the contract for the planned leg of this transaction',
    );
  }
  if (decided !== undefined && decided.commit !== rec.commit) {
    // Only a quorum signing against D's record makes this: evidence, kept as the outcome.
    throw new ExecFailure('CONFLICT', 'the contract applied the other decision: a Byzantine quorum signed it');
  }
  // The contract held the certificate's epoch: older member-set updates are of no more use to it.
  if (decided !== undefined) pruneMemberUpdates(ctx, participant, decided.epoch);
  const status = decided === undefined ? 'lapsed' : decided.commit ? 'committed' : 'aborted';
  ctx.put(evmDecisionKey(xtxId, participant), { ...rec, outcome: { status, number, index, height: ctx.height } });
  ctx.del(evmOpenKey(xtxId, participant));
  return undefined;
}

/** A receipt of `participant`'s chain proven under an attested header. */
function provenReceipt(
  ctx: ExecContext,
  participant: string,
  number: number,
  index: number,
  proof: unknown,
): { receipt: EvmReceipt; reg: EvmParticipantRecord; header: EvmHeaderRecord } {
  const reg = ctx.get(evmParticipantKey(participant)) as unknown as EvmParticipantRecord | undefined;
  if (reg === undefined) throw new ExecFailure('NOT_FOUND', `EVM participant '${participant}' is not registered`);
  const client = evmClient(ctx, reg.evmChainId);
  if (client?.frozen != null) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      `the client of EVM chain ${reg.evmChainId} is frozen: ${client.frozen.reason}`,
    );
  }
  const header = ctx.get(evmHeaderKey(reg.evmChainId, number)) as unknown as EvmHeaderRecord | undefined;
  if (header === undefined) {
    throw new ExecFailure('NOT_FOUND', `block ${number} of EVM chain ${reg.evmChainId} has no attested header (yet)`);
  }
  const receipt = checked('UNAUTHORIZED', () => verifyEvmReceiptProof(header.receiptsRoot, index, proof));
  return { receipt, reg, header };
}
