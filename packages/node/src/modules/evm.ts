/**
 * The EVM light client on a Custos chain (docs/interop.md, "Attested headers"): EVM block headers
 * attested by a quorum of this chain's members, and EVM participant contracts registered by a
 * quorum of them. What an EVM vote is checked against (modules/xtx-evm.ts).
 *
 * - `evm.attestHeader {evmChainId, number, hash, header}`, signed by a member key: the member says
 *   that block `number` of EVM chain `evmChainId` is `hash`, final as it reads it from its own
 *   endpoint. The header's RLP must hash to `hash` and carry `number`; its `receiptsRoot` is kept.
 *   Once the members of the current set who attested the same hash reach the quorum threshold,
 *   `evmhdr/<chainId>/<number>` records it. A second quorum-attested hash for the same number is a
 *   fork or a Byzantine quorum: the client of that chain is frozen (no EVM vote of it counts any
 *   more) and `evmev/<chainId>` names the members who attested both.
 * - `evm.register {participant, codeHash, cosignatures}`, signed by a member key, co-signed by a
 *   quorum of the current members over `{domain, chainId, participant, codeHash}`: the participant
 *   contract `evm:<chainId>:<contract>` (and the code each co-signer read there) that cross-chain
 *   transactions may name. Registered once.
 * - `evm.signMembers`: a member's signature of the EVM member set in force for a registered
 *   contract's `updateMembers` (evm-members.ts).
 *
 * State: `evmatt/<chainId>/<number>/<hash>` -> {receiptsRoot, members} (every attestation, the
 * evidence); `evmhdr/<chainId>/<number>` -> the attested header; `evmlc/<chainId>` -> {highest,
 * frozen}; `evmev/<chainId>` -> the evidence that froze it; `evmp/<participant>` -> registration.
 */
import { decodeEvmHeader, EVM_HEADER_DOMAIN, parseEvmParticipant, verifyCosignatures } from '@custos/protocol/interop';
import { canonicalBytes } from '@custos/protocol/jcs';
import type { ResultCode } from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import { type Args, arg, type ExecContext, ExecFailure, type ExecHost, type Module } from '../exec/module.js';
import { signMembers } from './evm-members.js';
import { checked, localMemberSet } from './interop.js';
import { memberOfKey } from './member-state.js';

export const EVM_REGISTER_DOMAIN = 'custos/evm/register/v1';
const HASH = /^0x[0-9a-f]{64}$/;
/** At most this many distinct hashes attested for one block number (bounds what a Byzantine member writes). */
const MAX_HASHES_PER_NUMBER = 4;

export interface EvmClientRecord {
  evmChainId: number;
  /** Highest block number with a quorum-attested header. */
  highest: number;
  frozen: { number: number; reason: string } | null;
}

export interface EvmHeaderRecord {
  evmChainId: number;
  number: number;
  hash: string;
  parentHash: string;
  receiptsRoot: string;
  timestamp: number;
  attestedBy: string[];
  /** Height of this chain at which the quorum was reached. */
  height: number;
}

export interface EvmParticipantRecord {
  participant: string;
  evmChainId: number;
  contract: string;
  codeHash: string;
  registeredAt: number;
  registeredBy: string[];
}

export const evmClientKey = (evmChainId: number) => `evmlc/${evmChainId}`;
export const evmHeaderKey = (evmChainId: number, number: number) => `evmhdr/${evmChainId}/${number}`;
export const evmAttestationKey = (evmChainId: number, number: number, hash: string) =>
  `evmatt/${evmChainId}/${number}/${hash}`;
export const evmEvidenceKey = (evmChainId: number) => `evmev/${evmChainId}`;
export const evmParticipantKey = (participant: string) => `evmp/${participant}`;

/** What a quorum co-signs to register an EVM participant on chain `chainId`. */
export function evmRegistrationBytes(chainId: string, participant: string, codeHash: string): Uint8Array {
  return canonicalBytes({ domain: EVM_REGISTER_DOMAIN, chainId, participant, codeHash });
}

/** The client of an EVM chain, or undefined before its first attested header. */
export function evmClient(ctx: Pick<ExecContext, 'get'>, evmChainId: number): EvmClientRecord | undefined {
  return ctx.get(evmClientKey(evmChainId)) as unknown as EvmClientRecord | undefined;
}

/** The signer's member id, or UNAUTHORIZED. */
function member(ctx: ExecContext, action: string): string {
  const m = memberOfKey(ctx, ctx.signer);
  if (m === undefined) throw new ExecFailure('UNAUTHORIZED', `expected ${action} signed by a member key`);
  return m;
}

function quorum(ctx: ExecContext, host: ExecHost | undefined): { ids: Set<string>; threshold: number } {
  const set = localMemberSet(ctx, host);
  if (set === undefined) throw new ExecFailure('UNAUTHORIZED', 'the executor cannot tell the member quorum');
  return { ids: new Set(set.members.map((m) => m.id)), threshold: set.threshold };
}

function attestHeader(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['evmChainId', 'number', 'hash', 'header']);
  const who = member(ctx, 'evm.attestHeader');
  const evmChainId = arg.int(args, 'evmChainId', 1, Number.MAX_SAFE_INTEGER);
  const number = arg.int(args, 'number', 0, Number.MAX_SAFE_INTEGER);
  const hash = arg.str(args, 'hash', 66, HASH);
  const header = checked('INVALID_ARGS', () => decodeEvmHeader(args.header));
  if (header.hash !== hash) throw new ExecFailure('INVALID_ARGS', 'args.header does not hash to args.hash');
  if (header.number !== number) {
    throw new ExecFailure('INVALID_ARGS', `args.header is block ${header.number}, expected block ${number}`);
  }
  const client = evmClient(ctx, evmChainId);
  if (client?.frozen != null) {
    throw new ExecFailure('UNAUTHORIZED', `the client of EVM chain ${evmChainId} is frozen: ${client.frozen.reason}`);
  }
  const attKey = evmAttestationKey(evmChainId, number, hash);
  const att = (ctx.get(attKey) as { members: string[] } | undefined) ?? { members: [] };
  if (att.members.includes(who)) throw new ExecFailure('CONFLICT', `member '${who}' already attested this header`);
  if (att.members.length === 0) {
    const others = ctx.range?.(`evmatt/${evmChainId}/${number}/`, undefined, MAX_HASHES_PER_NUMBER + 1) ?? [];
    if (others.length >= MAX_HASHES_PER_NUMBER) {
      throw new ExecFailure('CONFLICT', `already ${MAX_HASHES_PER_NUMBER} hashes attested for block ${number}`);
    }
  }
  const members = [...att.members, who].sort();
  ctx.put(attKey, { receiptsRoot: header.receiptsRoot, members });

  const q = quorum(ctx, host);
  const current = members.filter((m) => q.ids.has(m));
  if (current.length < q.threshold) return 'OK';
  const hdrKey = evmHeaderKey(evmChainId, number);
  const recorded = ctx.get(hdrKey) as unknown as EvmHeaderRecord | undefined;
  if (recorded === undefined) {
    const rec: EvmHeaderRecord = {
      evmChainId,
      number,
      hash,
      parentHash: header.parentHash,
      receiptsRoot: header.receiptsRoot,
      timestamp: header.timestamp,
      attestedBy: current,
      height: ctx.height,
    };
    ctx.put(hdrKey, rec);
    const next: EvmClientRecord = {
      evmChainId,
      highest: Math.max(client?.highest ?? number, number),
      frozen: null,
    };
    ctx.put(evmClientKey(evmChainId), next);
    return 'OK';
  }
  if (recorded.hash === hash) {
    // A late attestation of a recorded header: kept as evidence, nothing else changes.
    return 'OK';
  }
  // Two quorum-attested hashes for one block: freeze the client and name who attested both.
  const first = ctx.get(evmAttestationKey(evmChainId, number, recorded.hash)) as { members?: string[] } | undefined;
  const both = (first?.members ?? recorded.attestedBy).filter((m) => members.includes(m));
  const reason = `two quorum-attested hashes for block ${number}`;
  ctx.put(evmClientKey(evmChainId), {
    evmChainId,
    highest: client?.highest ?? number,
    frozen: { number, reason },
  } satisfies EvmClientRecord);
  ctx.put(evmEvidenceKey(evmChainId), {
    domain: EVM_HEADER_DOMAIN,
    evmChainId,
    number,
    hashes: [recorded.hash, hash],
    signers: both,
    recordedAt: ctx.height,
  });
  return 'OK';
}

function register(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['participant', 'codeHash', 'cosignatures']);
  member(ctx, 'evm.register');
  const participant = arg.str(args, 'participant', 80);
  const { evmChainId, contract } = checked('INVALID_ARGS', () => parseEvmParticipant(participant));
  const codeHash = arg.str(args, 'codeHash', 66, HASH);
  if (ctx.get(evmParticipantKey(participant)) !== undefined) {
    throw new ExecFailure('CONFLICT', `EVM participant '${participant}' is already registered`);
  }
  const local = localMemberSet(ctx, host);
  if (local === undefined) throw new ExecFailure('UNAUTHORIZED', 'the executor cannot tell the member quorum');
  const signers = checked('UNAUTHORIZED', () =>
    verifyCosignatures(
      evmRegistrationBytes(ctx.chainId, participant, codeHash),
      args.cosignatures,
      local,
      nativeVerifier,
    ),
  );
  const rec: EvmParticipantRecord = {
    participant,
    evmChainId,
    contract,
    codeHash,
    registeredAt: ctx.height,
    registeredBy: signers.sort(),
  };
  ctx.put(evmParticipantKey(participant), rec);
  return 'OK';
}

export const evmModule: Module = {
  name: 'evm',
  actions: {
    attestHeader,
    register,
    signMembers: (ctx: ExecContext, args: Args) =>
      signMembers(ctx, args, (p) => ctx.get(evmParticipantKey(p)) as unknown as EvmParticipantRecord | undefined),
  },
};
