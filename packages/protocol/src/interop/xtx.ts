/**
 * Atomic cross-chain transactions (docs/architecture.md#atomic-cross-chain-transactions;
 * docs/adr/0008-cross-chain.md): the body that binds participants, operations, decision chain and
 * deadline, its id, the binding of each signed operation to the whole plan, the vote and decision
 * records, and the checks a chain (or a browser) runs on another chain's proof of a vote or of a
 * decision.
 */
import { describe, isHex, toHex } from '../bytes.js';
import type { Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalBytes, type JsonValue } from '../jcs.js';
import type { Checkpoint, QuorumCertificate } from '../ledger/checkpoint.js';
import { parseTx, type SignedTx } from '../ledger/tx.js';
import type { StateProofJson } from '../state/proof.js';
import { type EvmLeg, evmLegHash } from './evm-light.js';
import { type LightClientState, verifyRemoteState } from './light-client.js';

/** Argument every operation of a cross-chain transaction carries: the hash of its plan. */
export const XTX_BINDING_ARG = 'xtxPlan';
export const MAX_XTX_PARTICIPANTS = 8;
export const MAX_XTX_OPS = 16;
/**
 * Most blocks between the decision chain's height when it prepares and `deadlineHeight`: a longer
 * deadline gets a NO vote from the decision chain (so the transaction aborts everywhere).
 */
export const XTX_MAX_DEADLINE_BLOCKS = 10_000;
/**
 * How long (block time, ms) a participant holds the locks of a transaction it prepared: after
 * `lockedUntil` it aborts by itself and releases them at the next write that meets one.
 */
export const XTX_LOCK_TTL_MS = 60 * 60 * 1000;
/**
 * The decision chain records COMMIT only while every participant's locks are held at least this
 * much longer (block time, ms): the time left to carry the decision to them (relayers) before
 * they would abort by themselves. Block times are checked against every peer's clock (within its
 * allowed skew), so the times of two chains are comparable.
 */
export const XTX_FINALIZE_MARGIN_MS = 15 * 60 * 1000;
const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** An EVM participant: `evm:<EIP-155 chain id>:<participant contract, lower-case>`. */
const EVM_PARTICIPANT = /^evm:([1-9][0-9]{0,15}):(0x[0-9a-f]{40})$/;
/** Modules whose transactions never run inside another one: cross-chain, light-client and EVM client steps, governance. */
const SYSTEM_ONLY = /^(xtx|interop|gov|evm)\./;

/** True for an EVM participant id `evm:<chainId>:<contract>`. */
export function isEvmParticipant(id: string): boolean {
  return EVM_PARTICIPANT.test(id);
}

/** The EVM chain id and contract of an EVM participant id; throws `BAD_TX` for anything else. */
export function parseEvmParticipant(id: unknown): { evmChainId: number; contract: string } {
  const m = typeof id === 'string' ? EVM_PARTICIPANT.exec(id) : null;
  const n = m === null ? Number.NaN : Number(m[1]);
  if (m === null || !Number.isSafeInteger(n)) {
    throw bad(`expected an EVM participant as evm:<chainId>:<0x contract, lower case>, got ${describe(id)}`);
  }
  return { evmChainId: n, contract: m[2] as string };
}

/** The Custos chains among a body's participants (those with operations). */
export function custosParticipants(xtx: { participants: string[] }): string[] {
  return xtx.participants.filter((c) => !EVM_PARTICIPANT.test(c));
}

/** The EVM participants of a body (those with a leg). */
export function evmParticipants(xtx: { participants: string[] }): string[] {
  return xtx.participants.filter((c) => EVM_PARTICIPANT.test(c));
}

/** One operation over several ledgers. `xtxId = SHA-256(canonical body)`. */
export interface CrossChainTx {
  /** Chain ids, sorted, without repeats: at least two. */
  participants: string[];
  /** For each participant, its signed transactions, run in order. */
  ops: { [chainId: string]: SignedTx[] };
  /** The participant whose ledger records the decision. */
  decisionChain: string;
  /** Last height of the decision chain at which COMMIT can be recorded. */
  deadlineHeight: number;
  /** 16 random bytes as hex. */
  nonce: string;
  /**
   * For each EVM participant (`evm:<chainId>:<contract>`) its one leg; absent when every
   * participant is a Custos chain (so the ids of Custos-only bodies are unchanged).
   */
  legs?: { [participant: string]: EvmLeg };
}

/** What every signer agrees to before anyone signs: the whole operation, without the signatures. */
export interface XtxPlan {
  participants: string[];
  ops: { [chainId: string]: { type: string; signer: string; args: { [key: string]: JsonValue } }[] };
  decisionChain: string;
  deadlineHeight: number;
  nonce: string;
  legs?: { [participant: string]: EvmLeg };
}

export type XtxVote = 'YES' | 'NO';
export type XtxDecision = 'COMMIT' | 'ABORT';

/** State `xtx/<xtxId>` on each participant: its vote and where it stands. */
export interface XtxVoteRecord {
  xtxId: string;
  chainId: string;
  /** null only in the tombstone written by an ABORT that arrived before any prepare. */
  vote: XtxVote | null;
  /** SHA-256 of this chain's operations (canonical JSON of the signed transactions). */
  opsHash: string;
  /** `prepared` (YES, keys locked), `refused` (NO), then `committed` or `aborted`. */
  status: 'prepared' | 'refused' | 'committed' | 'aborted';
  /** Why the vote is NO, or null. */
  reason: string | null;
  /** The xtx.prepare transaction (it carries the body), null for a tombstone. */
  prepareTx: string | null;
  preparedAt: number | null;
  finalizedAt: number | null;
  /**
   * With a YES: block time (ms) until which this chain holds the locks; after it, the chain aborts
   * by itself (`XTX_LOCK_TTL_MS` after the prepare). Absent in records written before it existed.
   */
  lockedUntil?: number | null;
}

/** State `xtxd/<xtxId>` on the decision chain: the one decision. */
export interface XtxDecisionRecord {
  xtxId: string;
  decision: XtxDecision;
  /** Height of the decision chain at which it was recorded. */
  height: number;
  /** `all-yes`, `no:<chainId>` or `timeout`. */
  reason: string;
}

/** A participant's vote as carried to the decision chain: a certified state proof of `xtx/<xtxId>`. */
export interface VoteProof {
  chainId: string;
  certificate: QuorumCertificate;
  proof: StateProofJson;
  value: JsonValue;
}

/** The decision as carried to a participant: a certified state proof of `xtxd/<xtxId>`. */
export interface DecisionProof {
  certificate: QuorumCertificate;
  proof: StateProofJson;
  value: JsonValue;
}

export function xtxVoteKey(xtxId: string): string {
  return `xtx/${xtxId}`;
}

export function xtxDecisionKey(xtxId: string): string {
  return `xtxd/${xtxId}`;
}

/** Hex SHA-256 of the canonical body: the cross-chain transaction id. */
export function xtxIdOf(xtx: CrossChainTx): string {
  return toHex(sha256(canonicalBytes(xtx)));
}

/** Hex SHA-256 of the canonical plan: the value of every operation's `xtxPlan` argument. */
export function xtxPlanHash(plan: XtxPlan): string {
  return toHex(sha256(canonicalBytes(plan)));
}

/** The plan of a cross-chain transaction: its operations without signatures and without the binding. */
export function planOf(xtx: CrossChainTx): XtxPlan {
  const ops: XtxPlan['ops'] = {};
  for (const c of custosParticipants(xtx)) {
    ops[c] = (xtx.ops[c] ?? []).map((t) => ({
      type: t.body.type,
      signer: t.body.signer,
      args: withoutBinding(t.body.args),
    }));
  }
  const plan: XtxPlan = {
    participants: xtx.participants,
    ops,
    decisionChain: xtx.decisionChain,
    deadlineHeight: xtx.deadlineHeight,
    nonce: xtx.nonce,
  };
  if (xtx.legs !== undefined) plan.legs = xtx.legs;
  return plan;
}

/** The `legHash` the participant contract must vote with for the EVM participant `participant`. */
export function legHashOf(xtx: CrossChainTx, participant: string): string {
  const leg = xtx.legs?.[participant];
  if (leg === undefined) throw bad(`'${participant}' is not an EVM participant of this cross-chain transaction`);
  return evmLegHash(leg);
}

/** An operation's arguments as its module sees them: without `xtxPlan`. */
export function withoutBinding(args: { [key: string]: JsonValue }): { [key: string]: JsonValue } {
  if (!Object.hasOwn(args, XTX_BINDING_ARG)) return args;
  const { [XTX_BINDING_ARG]: _binding, ...rest } = args;
  return rest;
}

/** Hex SHA-256 of one participant's signed operations. */
export function opsHashOf(xtx: CrossChainTx, chainId: string): string {
  return toHex(sha256(canonicalBytes(xtx.ops[chainId] ?? [])));
}

/**
 * Parses an untrusted cross-chain transaction: exactly its fields; 2-8 sorted participants; the
 * decision chain among them; for each participant 1-16 well-formed transactions for that chain,
 * none of them a cross-chain or light-client step, each bound to this plan by `xtxPlan`. Signatures
 * are not checked here: each chain checks its own. Throws `BAD_TX`.
 */
export function parseCrossChainTx(raw: unknown): CrossChainTx {
  const withLegs = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'legs');
  const o = object(raw, 'a cross-chain transaction', [
    'participants',
    'ops',
    'decisionChain',
    'deadlineHeight',
    'nonce',
    ...(withLegs ? ['legs'] : []),
  ]);
  const { participants, ops, decisionChain, deadlineHeight, nonce } = o;
  if (!Array.isArray(participants) || participants.length < 2 || participants.length > MAX_XTX_PARTICIPANTS) {
    throw bad(`expected 2-${MAX_XTX_PARTICIPANTS} participants, got ${describe(participants)}`);
  }
  for (let i = 0; i < participants.length; i++) {
    const c = participants[i];
    if (typeof c !== 'string' || !(CHAIN_ID.test(c) || EVM_PARTICIPANT.test(c))) {
      throw bad('expected participants as chain ids [a-z0-9-] or EVM participants evm:<chainId>:<contract>');
    }
    if (i > 0 && !((participants[i - 1] as string) < c)) throw bad('expected participants sorted, without repeats');
  }
  const all = participants as string[];
  const chains = custosParticipants({ participants: all });
  const evm = evmParticipants({ participants: all });
  if (typeof decisionChain !== 'string' || !chains.includes(decisionChain)) {
    throw bad('expected decisionChain to be one of the Custos participants');
  }
  for (const p of evm) parseEvmParticipant(p);
  let legs: CrossChainTx['legs'];
  if (evm.length > 0 || withLegs) {
    if (evm.length === 0) throw bad('expected legs only with EVM participants');
    const legsObj = object(o.legs, 'legs', evm);
    legs = {};
    for (const p of evm) {
      const leg = object(legsObj[p], `the leg of '${p}'`, ['token', 'from', 'to', 'amount']);
      const addr = /^0x[0-9a-f]{40}$/;
      for (const k of ['token', 'from', 'to'] as const) {
        if (typeof leg[k] !== 'string' || !addr.test(leg[k] as string) || /^0x0{40}$/.test(leg[k] as string)) {
          throw bad(`expected the leg of '${p}' to have ${k} as a non-zero lower-case 0x address`);
        }
      }
      const amount = leg.amount;
      if (typeof amount !== 'string' || !/^[1-9][0-9]{0,77}$/.test(amount) || BigInt(amount) >= 1n << 256n) {
        throw bad(`expected the leg of '${p}' to have amount as a positive decimal uint256 string`);
      }
      legs[p] = { token: leg.token as string, from: leg.from as string, to: leg.to as string, amount };
    }
  }
  if (typeof deadlineHeight !== 'number' || !Number.isSafeInteger(deadlineHeight) || deadlineHeight < 1) {
    throw bad(`expected deadlineHeight as a positive integer, got ${describe(deadlineHeight)}`);
  }
  if (!isHex(nonce, 16)) throw bad(`expected nonce as 32 lower-case hex characters, got ${describe(nonce)}`);
  const opsObj = object(ops, 'ops', chains);
  const parsedOps: CrossChainTx['ops'] = {};
  for (const c of chains) {
    const list = opsObj[c];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_XTX_OPS) {
      throw bad(`expected 1-${MAX_XTX_OPS} operations for chain '${c}', got ${describe(list)}`);
    }
    parsedOps[c] = list.map((t: unknown, i) => {
      let tx: SignedTx;
      try {
        tx = parseTx(t).tx;
      } catch (cause) {
        throw bad(`operation ${i} of chain '${c}' is not a well-formed transaction`, cause);
      }
      if (tx.body.chainId !== c) throw bad(`operation ${i} of chain '${c}' is signed for another chain`);
      if (SYSTEM_ONLY.test(tx.body.type)) {
        throw bad(
          `operation ${i} of chain '${c}' is a ${tx.body.type}, which never runs inside a cross-chain transaction`,
        );
      }
      return tx;
    });
  }
  const xtx: CrossChainTx = {
    participants: [...all],
    ops: parsedOps,
    decisionChain,
    deadlineHeight,
    nonce: nonce as string,
  };
  if (legs !== undefined) xtx.legs = legs;
  const plan = xtxPlanHash(planOf(xtx));
  for (const c of chains) {
    for (const [i, t] of (parsedOps[c] as SignedTx[]).entries()) {
      if (t.body.args[XTX_BINDING_ARG] !== plan) {
        throw bad(`operation ${i} of chain '${c}' is not bound to this plan (args.${XTX_BINDING_ARG})`);
      }
    }
  }
  return xtx;
}

/**
 * Verifies a participant's proved vote with the decision chain's light client of that participant:
 * the certificate, the state proof of `xtx/<xtxId>`, and that the record is this transaction's
 * vote on that chain for the same operations. Returns the vote (null for a tombstone).
 */
export function verifyVoteProof(
  lc: LightClientState,
  xtx: CrossChainTx,
  xtxId: string,
  vp: unknown,
  verifier: Verifier,
): { vote: XtxVote | null; checkpoint: Checkpoint; lockedUntil: number | null } {
  const v = object(vp, 'a vote proof', ['chainId', 'certificate', 'proof', 'value'], badProof);
  if (v.chainId !== lc.chainId) throw badProof(`expected a vote of chain '${lc.chainId}'`);
  if (!xtx.participants.includes(lc.chainId)) throw badProof(`chain '${lc.chainId}' is not a participant`);
  const checkpoint = verifyRemoteState(lc, v.certificate, xtxVoteKey(xtxId), v.value as JsonValue, v.proof, verifier);
  const rec = v.value as Record<string, unknown> | null;
  if (typeof rec !== 'object' || rec === null || rec.xtxId !== xtxId || rec.chainId !== lc.chainId) {
    throw badProof('the proved record is not the vote of this chain on this cross-chain transaction');
  }
  if (rec.opsHash !== opsHashOf(xtx, lc.chainId)) throw badProof('the proved vote is for other operations');
  const vote = rec.vote === 'YES' || rec.vote === 'NO' ? rec.vote : null;
  const lockedUntil =
    typeof rec.lockedUntil === 'number' && Number.isSafeInteger(rec.lockedUntil) ? rec.lockedUntil : null;
  return { vote, checkpoint, lockedUntil };
}

/**
 * Verifies the decision chain's proved decision with a participant's light client of it. Returns
 * the decision.
 */
export function verifyDecisionProof(
  lc: LightClientState,
  xtx: CrossChainTx,
  xtxId: string,
  dp: unknown,
  verifier: Verifier,
): { decision: XtxDecision; checkpoint: Checkpoint } {
  if (lc.chainId !== xtx.decisionChain) throw badProof(`expected the light client of '${xtx.decisionChain}'`);
  const d = object(dp, 'a decision proof', ['certificate', 'proof', 'value'], badProof);
  const checkpoint = verifyRemoteState(
    lc,
    d.certificate,
    xtxDecisionKey(xtxId),
    d.value as JsonValue,
    d.proof,
    verifier,
  );
  const rec = d.value as Record<string, unknown> | null;
  if (typeof rec !== 'object' || rec === null || rec.xtxId !== xtxId) {
    throw badProof('the proved record is not the decision on this cross-chain transaction');
  }
  if (rec.decision !== 'COMMIT' && rec.decision !== 'ABORT') throw badProof('expected a COMMIT or ABORT decision');
  return { decision: rec.decision, checkpoint };
}

function object(
  v: unknown,
  name: string,
  keys: readonly string[],
  fail: (message: string) => ProtocolError = bad,
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw fail(`expected ${name} object, got ${describe(v)}`);
  const own = Object.keys(v);
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    throw fail(`expected ${name} with exactly the fields ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

function bad(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('BAD_TX', message, cause === undefined ? {} : { cause });
}

function badProof(message: string): ProtocolError {
  return new ProtocolError('BAD_PROOF', message);
}
