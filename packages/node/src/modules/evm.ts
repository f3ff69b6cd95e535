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
/** Headers in one `evm.attestHeaders` (16 headers of about 1.3 KB in hex stay well under a body's 32 KiB). */
export const MAX_HEADERS_PER_TX = 16;

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

/** One header as a member attests it: `{number, hash, header}` with the RLP checked against both. */
interface AttestedItem {
  number: number;
  hash: string;
  header: ReturnType<typeof decodeEvmHeader>;
}

function attestedItem(args: Args, where: string): AttestedItem {
  const number = arg.int(args, 'number', 0, Number.MAX_SAFE_INTEGER);
  const hash = arg.str(args, 'hash', 66, HASH);
  const header = checked('INVALID_ARGS', () => decodeEvmHeader(args.header));
  if (header.hash !== hash) throw new ExecFailure('INVALID_ARGS', `${where}header does not hash to ${where}hash`);
  if (header.number !== number) {
    throw new ExecFailure('INVALID_ARGS', `${where}header is block ${header.number}, expected block ${number}`);
  }
  return { number, hash, header };
}

function attestHeader(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['evmChainId', 'number', 'hash', 'header']);
  const who = member(ctx, 'evm.attestHeader');
  const evmChainId = arg.int(args, 'evmChainId', 1, Number.MAX_SAFE_INTEGER);
  const item = attestedItem(args, 'args.');
  const skipped = attestOne(ctx, quorumOnce(ctx, host), who, evmChainId, item);
  if (skipped !== undefined) throw new ExecFailure('CONFLICT', skipped);
  return 'OK';
}

/**
 * `evm.attestHeaders {evmChainId, headers: [{number, hash, header}, ...]}`: a member's attestations
 * of up to `MAX_HEADERS_PER_TX` blocks in one transaction, each checked and counted as
 * `evm.attestHeader` would. A malformed item refuses the whole transaction; an item this member
 * already attested, or a block that already holds `MAX_HASHES_PER_NUMBER` hashes, is skipped (so
 * that nobody can hold back a member's other blocks); CONFLICT when every item is skipped.
 */
function attestHeaders(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['evmChainId', 'headers']);
  const who = member(ctx, 'evm.attestHeaders');
  const evmChainId = arg.int(args, 'evmChainId', 1, Number.MAX_SAFE_INTEGER);
  const list = args.headers;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_HEADERS_PER_TX) {
    throw new ExecFailure('INVALID_ARGS', `expected args.headers as a list of 1-${MAX_HEADERS_PER_TX} headers`);
  }
  const items = list.map((x, i) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      throw new ExecFailure('INVALID_ARGS', `expected args.headers[${i}] as {number, hash, header}`);
    }
    try {
      arg.only(x as Args, ['number', 'hash', 'header']);
      return attestedItem(x as Args, 'args.');
    } catch (e) {
      if (e instanceof ExecFailure) throw new ExecFailure(e.result, `args.headers[${i}]: ${e.message}`);
      throw e;
    }
  });
  const q = quorumOnce(ctx, host);
  let recorded = 0;
  const skipped: string[] = [];
  for (const item of items) {
    // A header of this batch froze the client: the evidence stands, the rest would count no more.
    if (recorded > 0 && evmClient(ctx, evmChainId)?.frozen != null) break;
    const why = attestOne(ctx, q, who, evmChainId, item);
    if (why === undefined) recorded++;
    else skipped.push(why);
  }
  if (recorded === 0) throw new ExecFailure('CONFLICT', `nothing to attest: ${skipped[0]}`);
  return 'OK';
}

/** The member quorum, read once per transaction. */
function quorumOnce(ctx: ExecContext, host: ExecHost | undefined): () => { ids: Set<string>; threshold: number } {
  let q: { ids: Set<string>; threshold: number } | undefined;
  return () => {
    q ??= quorum(ctx, host);
    return q;
  };
}

/**
 * Records `who`'s attestation of one header; the attested header once the quorum is reached, the
 * evidence once a second hash reaches it. Returns why it recorded nothing (a CONFLICT), or undefined.
 */
function attestOne(
  ctx: ExecContext,
  quorumOf: () => { ids: Set<string>; threshold: number },
  who: string,
  evmChainId: number,
  { number, hash, header }: AttestedItem,
): string | undefined {
  const client = evmClient(ctx, evmChainId);
  if (client?.frozen != null) {
    throw new ExecFailure('UNAUTHORIZED', `the client of EVM chain ${evmChainId} is frozen: ${client.frozen.reason}`);
  }
  const attKey = evmAttestationKey(evmChainId, number, hash);
  const att = (ctx.get(attKey) as { members: string[] } | undefined) ?? { members: [] };
  if (att.members.includes(who)) return `member '${who}' already attested this header`;
  if (att.members.length === 0) {
    const others = ctx.range?.(`evmatt/${evmChainId}/${number}/`, undefined, MAX_HASHES_PER_NUMBER + 1) ?? [];
    if (others.length >= MAX_HASHES_PER_NUMBER) {
      return `already ${MAX_HASHES_PER_NUMBER} hashes attested for block ${number}`;
    }
  }
  const members = [...att.members, who].sort();
  ctx.put(attKey, { receiptsRoot: header.receiptsRoot, members });

  const q = quorumOf();
  const current = members.filter((m) => q.ids.has(m));
  if (current.length < q.threshold) return undefined;
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
    return undefined;
  }
  if (recorded.hash === hash) {
    // A late attestation of a recorded header: kept as evidence, nothing else changes.
    return undefined;
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
  return undefined;
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
    attestHeaders,
    register,
    signMembers: (ctx: ExecContext, args: Args) =>
      signMembers(ctx, args, (p) => ctx.get(evmParticipantKey(p)) as unknown as EvmParticipantRecord | undefined),
  },
};
