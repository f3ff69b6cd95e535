/**
 * Atomic cross-chain transactions (docs/architecture.md#atomic-cross-chain-transactions,
 * docs/adr/0008-cross-chain.md): two-phase commit with the decision recorded on one participant's
 * ledger, proofs carried by anyone.
 *
 * - `xtx.prepare {xtx}` on each participant: checks its operations (signatures, then a dry run in a
 *   nested overlay), locks every key they write, and records YES (with the writes held back) or NO.
 *   An operation may be a `contract.call`: run under gas at prepare, its writes held like any
 *   other's, a failed call (OUT_OF_GAS, CONTRACT_FORBIDDEN, a throw) a NO.
 * - `xtx.decide {xtx, votes}` or `{xtx, timeout: true}` on the decision chain D: COMMIT with proofs
 *   of YES from every participant while D's height <= deadlineHeight; ABORT on a proven NO, or once
 *   D's height > deadlineHeight. One decision per xtx.
 * - `xtx.finalize {xtx, decision}` on each participant: with D's proved decision, applies the held
 *   writes (COMMIT) or drops them (ABORT), and releases the locks. An ABORT before any prepare
 *   leaves a tombstone that refuses a late prepare.
 *
 * Every step is permissionless: the operations carry their signers' authority and the proofs carry
 * the chains'. A step that was already taken ends with CONFLICT and changes nothing.
 *
 * Deadlines (issue 11, trust #7): the decision chain votes NO on a deadline more than
 * `XTX_MAX_DEADLINE_BLOCKS` after its height. A YES holds the locks until `lockedUntil` (block time,
 * `XTX_LOCK_TTL_MS` after the prepare); after it the participant aborts by itself: the next write
 * that meets one of its locks (a plain write, or another xtx.prepare) first drops the held writes,
 * releases every lock and records the abort. D records COMMIT only while every proven YES still
 * holds its locks for `XTX_FINALIZE_MARGIN_MS` more, so a decision has that long to reach them.
 *
 * State: `xtx/<id>` -> XtxVoteRecord; `xtxw/<id>` -> the held writes and subjects; `lock/<key>` ->
 * id; `xtxopen/<id>` -> {prepareTx} while this chain has not finalized (what relayers scan);
 * `xtxplan/<planHash>` -> id (a plan is prepared YES at most once); `xtxd/<id>` -> XtxDecisionRecord
 * on the decision chain.
 */
import {
  type CrossChainTx,
  custosParticipants,
  type DecisionProof,
  isEvmParticipant,
  opsHashOf,
  parseCrossChainTx,
  planOf,
  type VoteProof,
  verifyDecisionProof,
  verifyVoteProof,
  withoutBinding,
  XTX_FINALIZE_MARGIN_MS,
  XTX_LOCK_TTL_MS,
  XTX_MAX_DEADLINE_BLOCKS,
  type XtxDecision,
  type XtxDecisionRecord,
  type XtxVote,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxIdOf,
  xtxPlanHash,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type ParsedTx, parseTx, type ResultCode, verifyTxSignature } from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import {
  type Args,
  arg,
  type ExecContext,
  ExecFailure,
  type ExecHost,
  LOCK_PREFIX,
  type Module,
} from '../exec/module.js';
import { checked, lightClientKey, liveLightClient, rememberCertificate } from './interop.js';
import { evmDone, evmSign, evmVote, evmVotes, missingEvmClient, recordEvmDecisions } from './xtx-evm.js';

export function heldWritesKey(xtxId: string): string {
  return `xtxw/${xtxId}`;
}

export function openKey(xtxId: string): string {
  return `xtxopen/${xtxId}`;
}

export function planKey(planHash: string): string {
  return `xtxplan/${planHash}`;
}

/** What xtx.prepare holds back until the decision: the operations' writes and subjects. */
export interface HeldWrites {
  /** [key, canonical JSON text or null for a delete]. */
  writes: [string, string | null][];
  subjects: string[];
}

interface Parsed {
  xtx: CrossChainTx;
  id: string;
}

/** The body from args, its id recomputed (never taken from the sender), and this chain among its participants. */
function xtxArg(ctx: ExecContext, args: Args): Parsed {
  const xtx = checked('INVALID_ARGS', () => parseCrossChainTx(args.xtx));
  if (!xtx.participants.includes(ctx.chainId)) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `chain '${ctx.chainId}' is not a participant of this cross-chain transaction`,
    );
  }
  return { xtx, id: xtxIdOf(xtx) };
}

function voteRecord(ctx: ExecContext, id: string): XtxVoteRecord | undefined {
  return ctx.get(xtxVoteKey(id)) as unknown as XtxVoteRecord | undefined;
}

function putVote(ctx: ExecContext, rec: XtxVoteRecord): void {
  ctx.put(xtxVoteKey(rec.xtxId), rec);
}

/** The light clients this chain needs to take part: D's on a participant, every other participant's on D. */
function missingLightClient(ctx: ExecContext, xtx: CrossChainTx): string | undefined {
  const onD = ctx.chainId === xtx.decisionChain;
  if (onD) {
    const evm = missingEvmClient(ctx, xtx);
    if (evm !== undefined) return evm;
  }
  const needed = onD ? custosParticipants(xtx).filter((c) => c !== ctx.chainId) : [xtx.decisionChain];
  for (const c of needed) {
    const lc = ctx.get(lightClientKey(c)) as { frozen: unknown } | undefined;
    if (lc === undefined) return `no light client of chain '${c}'`;
    if (lc.frozen !== null) return `the light client of chain '${c}' is frozen`;
  }
  return undefined;
}

function prepare(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  if (host === undefined) throw new ExecFailure('UNKNOWN_TYPE', 'xtx.prepare cannot nest');
  arg.only(args, ['xtx']);
  const { xtx, id } = xtxArg(ctx, args);
  const existing = voteRecord(ctx, id);
  if (existing !== undefined) {
    throw new ExecFailure(
      'CONFLICT',
      existing.vote === null
        ? 'this cross-chain transaction was aborted here before it was prepared'
        : 'already prepared',
    );
  }
  const ops = xtx.ops[ctx.chainId] ?? [];
  const base: XtxVoteRecord = {
    xtxId: id,
    chainId: ctx.chainId,
    vote: null,
    opsHash: opsHashOf(xtx, ctx.chainId),
    status: 'refused',
    reason: null,
    prepareTx: ctx.txId,
    preparedAt: ctx.height,
    finalizedAt: null,
  };
  const refuse = (reason: string) => {
    putVote(ctx, { ...base, vote: 'NO', status: 'refused', reason });
    ctx.put(openKey(id), { prepareTx: ctx.txId });
    return 'OK' as const;
  };

  if (ctx.chainId === xtx.decisionChain && xtx.deadlineHeight > ctx.height + XTX_MAX_DEADLINE_BLOCKS) {
    return refuse(
      `deadlineHeight ${xtx.deadlineHeight} is too far: expected at most ${ctx.height + XTX_MAX_DEADLINE_BLOCKS} (${XTX_MAX_DEADLINE_BLOCKS} blocks after the decision chain's height ${ctx.height})`,
    );
  }
  const missing = missingLightClient(ctx, xtx);
  if (missing !== undefined) return refuse(missing);
  const plan = xtxPlanHash(planOf(xtx));
  const planUser = ctx.get(planKey(plan));
  if (planUser !== undefined)
    return refuse(`the same plan was prepared by cross-chain transaction ${String(planUser)}`);
  const parsed: ParsedTx[] = [];
  for (const [i, op] of ops.entries()) {
    const p = parseTx(op);
    if (!verifyTxSignature(p, nativeVerifier)) return refuse(`operation ${i}: BAD_SIGNATURE`);
    parsed.push(p);
  }
  const run = host.runNested(ctx, parsed, (p) => withoutBinding(p.tx.body.args));
  // The attempt is recorded whatever the vote: a contract call's receipt and the contract's totals.
  for (const [k, text] of run.kept) ctx.put(k, JSON.parse(text));
  if (run.code !== 'OK') {
    return refuse(
      run.code === 'CONFLICT'
        ? `operation ${run.failed}: CONFLICT (a key it writes is locked by another cross-chain transaction)`
        : `operation ${run.failed}: ${run.code}`,
    );
  }
  const held: HeldWrites = { writes: [...run.writes], subjects: run.subjects };
  for (const k of run.writes.keys()) ctx.put(LOCK_PREFIX + k, id);
  ctx.put(heldWritesKey(id), held as unknown as JsonValue);
  ctx.put(planKey(plan), id);
  ctx.put(openKey(id), { prepareTx: ctx.txId });
  putVote(ctx, { ...base, vote: 'YES', status: 'prepared', lockedUntil: ctx.time + XTX_LOCK_TTL_MS });
  // The customer sees the prepare in their history, and the finalize that applies or releases it.
  for (const s of run.subjects) ctx.index(s);
  return 'OK' as const;
}

function decide(ctx: ExecContext, args: Args): ResultCode {
  arg.only(args, ['xtx', 'votes', 'timeout']);
  return decideParsed(ctx, xtxArg(ctx, args), args);
}

function decideParsed(ctx: ExecContext, { xtx, id }: Parsed, args: Args): ResultCode {
  if (xtx.decisionChain !== ctx.chainId) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `the decision chain of this cross-chain transaction is '${xtx.decisionChain}'`,
    );
  }
  if (ctx.get(xtxDecisionKey(id)) !== undefined) throw new ExecFailure('CONFLICT', 'already decided');
  const record = (decision: XtxDecision, reason: string) => {
    const rec: XtxDecisionRecord = { xtxId: id, decision, height: ctx.height, reason };
    ctx.put(xtxDecisionKey(id), rec);
    recordEvmDecisions(ctx, xtx, id, decision === 'COMMIT');
    return 'OK' as const;
  };
  const late = ctx.height > xtx.deadlineHeight;

  if (args.timeout !== undefined) {
    if (args.timeout !== true || args.votes !== undefined) {
      throw new ExecFailure('INVALID_ARGS', 'expected either args.votes or args.timeout: true');
    }
    if (!late) {
      throw new ExecFailure('CONFLICT', `the deadline (height ${xtx.deadlineHeight}) has not passed: no timeout yet`);
    }
    return record('ABORT', 'timeout');
  }

  const votes = args.votes ?? [];
  if (!Array.isArray(votes) || votes.length > xtx.participants.length) {
    throw new ExecFailure('INVALID_ARGS', `expected args.votes as a list of at most ${xtx.participants.length} proofs`);
  }
  const proven = new Map<string, XtxVote | null>();
  const own = voteRecord(ctx, id);
  proven.set(ctx.chainId, own?.vote ?? null);
  /** Earliest time a YES voter aborts by itself. */
  let lockedUntil = typeof own?.lockedUntil === 'number' ? own.lockedUntil : Number.POSITIVE_INFINITY;
  for (const v of votes) {
    const chainId = (v as { chainId?: unknown } | null)?.chainId;
    if (typeof chainId !== 'string' || !xtx.participants.includes(chainId) || chainId === ctx.chainId) {
      throw new ExecFailure('INVALID_ARGS', 'expected each vote from another participant');
    }
    if (isEvmParticipant(chainId)) {
      throw new ExecFailure('INVALID_ARGS', `the vote of '${chainId}' is recorded with xtx.evmVote, not passed here`);
    }
    if (proven.has(chainId)) throw new ExecFailure('INVALID_ARGS', `two votes of chain '${chainId}'`);
    const lc = liveLightClient(ctx, chainId);
    const proof = checked('UNAUTHORIZED', () => verifyVoteProof(lc, xtx, id, v, nativeVerifier));
    rememberCertificate(ctx, (v as unknown as VoteProof).certificate);
    proven.set(chainId, proof.vote);
    if (proof.lockedUntil !== null) lockedUntil = Math.min(lockedUntil, proof.lockedUntil);
  }
  const evm = evmVotes(ctx, xtx, id);
  for (const [p, v] of evm.votes) proven.set(p, v);
  for (const c of xtx.participants) if (proven.get(c) === 'NO') return record('ABORT', `no:${c}`);
  if (xtx.participants.every((c) => proven.get(c) === 'YES')) {
    // A participant whose locks lapse before the decision can reach it would abort by itself.
    if (!late && ctx.time + XTX_FINALIZE_MARGIN_MS > lockedUntil) return record('ABORT', 'lock-deadline');
    // Likewise an EVM lock whose deadline block is too near: anyone may release it after.
    if (!late && !evm.marginOk) return record('ABORT', 'evm-lock-deadline');
    // The margin is counted from what the members attested: not from a view left behind.
    if (!late && evm.stale !== undefined) throw new ExecFailure('CONFLICT', evm.stale);
    // A COMMIT that no quorum of EVM keys can certify would end aborted on the EVM side.
    if (!late && !evm.certifiable) return record('ABORT', 'evm-members-not-ready');
    return record(late ? 'ABORT' : 'COMMIT', late ? 'timeout' : 'all-yes');
  }
  if (late) return record('ABORT', 'timeout');
  const missing = xtx.participants.filter((c) => proven.get(c) !== 'YES');
  throw new ExecFailure('NOT_FOUND', `no proof of a vote yet from ${missing.join(', ')}`);
}

function finalize(ctx: ExecContext, args: Args): ResultCode {
  arg.only(args, ['xtx', 'decision']);
  return finalizeParsed(ctx, xtxArg(ctx, args), args);
}

function finalizeParsed(ctx: ExecContext, { xtx, id }: Parsed, args: Args): ResultCode {
  let decision: XtxDecision;
  if (ctx.chainId === xtx.decisionChain) {
    // The decision chain reads its own decision; a proof of it would add nothing.
    if (args.decision !== undefined)
      throw new ExecFailure('INVALID_ARGS', 'the decision chain needs no decision proof');
    const d = ctx.get(xtxDecisionKey(id)) as unknown as XtxDecisionRecord | undefined;
    if (d === undefined) throw new ExecFailure('NOT_FOUND', 'not decided yet');
    decision = d.decision;
  } else {
    if (args.decision === undefined)
      throw new ExecFailure('INVALID_ARGS', 'expected args.decision: the proved decision');
    const lc = liveLightClient(ctx, xtx.decisionChain);
    decision = checked('UNAUTHORIZED', () => verifyDecisionProof(lc, xtx, id, args.decision, nativeVerifier)).decision;
    rememberCertificate(ctx, (args.decision as unknown as DecisionProof).certificate);
  }

  const rec = voteRecord(ctx, id);
  if (rec === undefined) {
    // D cannot commit without this chain's proved YES: a COMMIT here means a broken decision chain.
    if (decision === 'COMMIT')
      throw new ExecFailure('CONFLICT', 'COMMIT of a cross-chain transaction never prepared here');
    putVote(ctx, {
      xtxId: id,
      chainId: ctx.chainId,
      vote: null,
      opsHash: opsHashOf(xtx, ctx.chainId),
      status: 'aborted',
      reason: 'aborted before it was prepared here',
      prepareTx: null,
      preparedAt: null,
      finalizedAt: ctx.height,
    });
    return 'OK';
  }
  if (rec.status === 'committed' || rec.status === 'aborted') {
    throw new ExecFailure(
      'CONFLICT',
      rec.status === 'aborted' && rec.reason !== null ? `already aborted (${rec.reason})` : `already ${rec.status}`,
    );
  }
  if (rec.status === 'refused') {
    if (decision === 'COMMIT')
      throw new ExecFailure('CONFLICT', 'COMMIT of a cross-chain transaction this chain refused');
  } else {
    const held = ctx.get(heldWritesKey(id)) as unknown as HeldWrites;
    for (const [k, text] of held.writes) {
      if (decision === 'COMMIT') {
        if (text === null) ctx.del(k);
        else ctx.put(k, JSON.parse(text));
      }
      ctx.del(LOCK_PREFIX + k);
    }
    ctx.del(heldWritesKey(id));
    for (const s of held.subjects) ctx.index(s);
  }
  ctx.del(openKey(id));
  putVote(ctx, { ...rec, status: decision === 'COMMIT' ? 'committed' : 'aborted', finalizedAt: ctx.height });
  return 'OK';
}

/**
 * `xtx.evmVote` (xtx-evm.ts); with `decide: true`, once that vote is the last one D waits for (no
 * other Custos participant, whose vote comes with its proof in `xtx.decide`), also `xtx.decide` and
 * D's own `xtx.finalize` in the same transaction: the same rules on the same state as two
 * transactions right after it. When D cannot decide yet (a vote missing, its view of the EVM chain
 * stale), the vote alone is recorded and `xtx.decide` comes later, as without `decide`.
 */
function evmVoteAction(ctx: ExecContext, args: Args): ResultCode {
  const seen: { parsed?: Parsed } = {};
  const code = evmVote(ctx, args, (a) => {
    seen.parsed = xtxArg(ctx, a);
    return seen.parsed;
  });
  const parsed = seen.parsed;
  if (args.decide !== true || parsed === undefined) return code;
  if (custosParticipants(parsed.xtx).some((c) => c !== ctx.chainId)) return code;
  try {
    decideParsed(ctx, parsed, {});
    finalizeParsed(ctx, parsed, {});
  } catch (e) {
    // Nothing written by a step that failed (each throws before it writes): the vote stands.
    if (!(e instanceof ExecFailure)) throw e;
  }
  return code;
}

/**
 * Aborts, on this participant, the cross-chain transaction `xtxId` that holds a lock a write meets,
 * if its locks lapsed (`lockedUntil` before this block's time): drops its held writes, releases
 * all its locks and records the abort, through `ctx` (so in the same transaction as the write).
 * True if it did (the write may go ahead), false if the lock still holds.
 */
export function releaseLapsedLock(ctx: ExecContext, xtxId: unknown): boolean {
  if (typeof xtxId !== 'string') return false;
  const rec = voteRecord(ctx, xtxId);
  if (rec?.status !== 'prepared' || typeof rec.lockedUntil !== 'number' || ctx.time <= rec.lockedUntil) return false;
  const held = ctx.get(heldWritesKey(xtxId)) as unknown as HeldWrites | undefined;
  for (const [k] of held?.writes ?? []) ctx.del(LOCK_PREFIX + k);
  ctx.del(heldWritesKey(xtxId));
  ctx.del(openKey(xtxId));
  for (const s of held?.subjects ?? []) ctx.index(s);
  putVote(ctx, {
    ...rec,
    status: 'aborted',
    reason: `its locks lapsed at ${rec.lockedUntil} (block time) before a decision arrived`,
    finalizedAt: ctx.height,
  });
  return true;
}

export const xtxModule: Module = {
  name: 'xtx',
  actions: {
    prepare,
    decide,
    finalize,
    evmVote: evmVoteAction,
    evmSign,
    evmDone,
  },
};
