/**
 * Light clients of other chains (docs/architecture.md#atomic-cross-chain-transactions,
 * docs/adr/0008-cross-chain.md): registration by a quorum of this chain's members, member-set
 * updates signed by a quorum of the other chain's old set, and evidence of conflicting
 * certificates, which freezes the client for good.
 *
 * State: `lc/<chainId>` -> LightClientState; `lccp/<chainId>/<height>` -> the first certificate of
 * that chain accepted for that height (the memory that makes a fork detectable);
 * `lcev/<chainId>` -> the evidence that froze the client.
 */
import { ProtocolError } from '@custos/protocol/errors';
import {
  applyCertifiedMemberSetUpdate,
  applyMemberUpdate,
  checkEquivocation,
  freezeLightClient,
  type LightClientState,
  newLightClient,
  parseRemoteChain,
  registrationSigningBytes,
  sameCheckpoint,
  stripCertificate,
  verifyCosignatures,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Checkpoint, type MemberSet, majority, type QuorumCertificate } from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import type { ExecHost } from '../exec/module.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import type { Genesis } from '../genesis.js';
import { GOV_MEMBERS, GOV_PARAMS, type GovParams, type MemberRegistry } from '../governance/state.js';
import { type MemberRecord, memberKey, memberOfKey } from './member-state.js';

const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function lightClientKey(chainId: string): string {
  return `lc/${chainId}`;
}

export function acceptedCertificateKey(chainId: string, height: number): string {
  return `lccp/${chainId}/${height}`;
}

export function evidenceKey(chainId: string): string {
  return `lcev/${chainId}`;
}

/** The light client of `chainId`, or NOT_FOUND; a frozen one fails with UNAUTHORIZED. */
export function liveLightClient(ctx: Pick<ExecContext, 'get'>, chainId: string): LightClientState {
  const lc = ctx.get(lightClientKey(chainId)) as unknown as LightClientState | undefined;
  if (lc === undefined) throw new ExecFailure('NOT_FOUND', `no light client of chain '${chainId}'`);
  if (lc.frozen !== null) throw new ExecFailure('UNAUTHORIZED', `the light client of chain '${chainId}' is frozen`);
  return lc;
}

/**
 * Remembers the first certificate accepted for a height of another chain, and fails with CONFLICT
 * when a different one for the same height turns up (`interop.evidence` then freezes the client).
 */
export function rememberCertificate(ctx: ExecContext, qc: QuorumCertificate): void {
  const cp = qc.checkpoint;
  const key = acceptedCertificateKey(cp.chainId, cp.height);
  const seen = ctx.get(key) as unknown as QuorumCertificate | undefined;
  if (seen === undefined) {
    ctx.put(key, stripCertificate(qc));
  } else if (!sameCheckpoint(seen.checkpoint, cp)) {
    throw new ExecFailure(
      'CONFLICT',
      `a different certificate of '${cp.chainId}' for height ${cp.height} was accepted before: submit interop.evidence`,
    );
  }
}

/** Runs a protocol check; its failure ends the transaction with `code` (never an exception). */
export function checked<T>(code: 'UNAUTHORIZED' | 'INVALID_ARGS' | 'CONFLICT', f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ProtocolError) throw new ExecFailure(code, e.message);
    throw e;
  }
}

/**
 * This chain's members and quorum, by point reads only (so a replay computes the same): the member
 * ids and threshold in force since governance last changed them, else the genesis ones; each
 * member's current keys from its record. Never below a majority.
 */
export function localMemberSet(ctx: Pick<ExecContext, 'get'>, host: ExecHost | undefined): MemberSet | undefined {
  const text = host?.genesis();
  if (text === undefined) return undefined;
  const genesis = JSON.parse(text) as Genesis;
  const registry = ctx.get(GOV_MEMBERS) as unknown as MemberRegistry | undefined;
  const params = ctx.get(GOV_PARAMS) as unknown as GovParams | undefined;
  const members: MemberSet['members'] = [];
  for (const id of registry?.ids ?? genesis.members.map((m) => m.id)) {
    const m = ctx.get(memberKey(id)) as unknown as MemberRecord | undefined;
    if (m !== undefined) members.push({ id: m.id, keys: m.keys });
  }
  if (members.length === 0) return undefined;
  return { members, threshold: Math.max(params?.threshold ?? genesis.threshold, majority(members.length)) };
}

function chainArg(args: Args, name: string): string {
  return arg.str(args, name, 64, CHAIN_ID);
}

export const interopModule: Module = {
  name: 'interop',
  actions: {
    /**
     * Registers a light client of another chain. Until governance takes this over, the authority is
     * a quorum of this chain's members: the signer is one member, and `cosignatures` are signatures
     * by at least the quorum threshold in force (and at least a majority) of distinct current
     * members over `registrationSigningBytes(thisChainId, chain)`. A chain is registered once.
     */
    register(ctx: ExecContext, args: Args, host?: ExecHost) {
      arg.only(args, ['chain', 'cosignatures']);
      if (memberOfKey(ctx, ctx.signer) === undefined) {
        throw new ExecFailure('UNAUTHORIZED', 'expected interop.register signed by a member key');
      }
      const remote = checked('INVALID_ARGS', () => parseRemoteChain(args.chain));
      if (remote.chainId === ctx.chainId) throw new ExecFailure('INVALID_ARGS', 'a chain does not register itself');
      if (ctx.get(lightClientKey(remote.chainId)) !== undefined) {
        throw new ExecFailure('CONFLICT', `chain '${remote.chainId}' is already registered`);
      }
      // Current members' current keys, read through this block: a revoked key no longer counts.
      const local = localMemberSet(ctx, host);
      if (local === undefined) throw new ExecFailure('UNAUTHORIZED', 'the executor cannot tell the member quorum');
      const message = registrationSigningBytes(ctx.chainId, remote);
      const signers = checked('UNAUTHORIZED', () =>
        verifyCosignatures(message, args.cosignatures, local, nativeVerifier),
      );
      ctx.put(lightClientKey(remote.chainId), {
        ...newLightClient(remote),
        registeredAt: ctx.height,
        registeredBy: signers.sort(),
      });
      return 'OK';
    },

    /**
     * Follows a member-set change of a registered chain. Either `certified`: the chain's certified
     * member-set update (`custos/member-set-update/v1`: the next epoch, proven in its state under a
     * header certified by a quorum of the set this light client trusts), which relayers carry
     * automatically; or `update = {chainId, epoch, members}` for the next epoch with `signatures`
     * co-signed by a quorum of the current (old) set. Anyone may relay either.
     */
    updateMembers(ctx: ExecContext, args: Args) {
      if (args.certified !== undefined) {
        arg.only(args, ['certified']);
        const u = args.certified as Args | null;
        const chainId = typeof u === 'object' && u !== null ? u.chainId : undefined;
        if (typeof chainId !== 'string' || !CHAIN_ID.test(chainId)) {
          throw new ExecFailure('INVALID_ARGS', 'expected args.certified as a member-set update with its chainId');
        }
        const lc = liveLightClient(ctx, chainId);
        const next = checked('UNAUTHORIZED', () => applyCertifiedMemberSetUpdate(lc, u, nativeVerifier));
        const cur = ctx.get(lightClientKey(chainId)) as Args;
        ctx.put(lightClientKey(chainId), { ...cur, ...next, updatedAt: ctx.height } as unknown as JsonValue);
        return 'OK';
      }
      arg.only(args, ['update', 'signatures']);
      const update = args.update as Args | undefined;
      const chainId = typeof update === 'object' && update !== null ? update.chainId : undefined;
      if (typeof chainId !== 'string' || !CHAIN_ID.test(chainId)) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.update.chainId');
      }
      const lc = liveLightClient(ctx, chainId);
      const next = checked('UNAUTHORIZED', () => applyMemberUpdate(lc, update, args.signatures, nativeVerifier));
      const cur = ctx.get(lightClientKey(chainId)) as Args;
      ctx.put(lightClientKey(chainId), { ...cur, ...next, updatedAt: ctx.height } as unknown as JsonValue);
      return 'OK';
    },

    /**
     * Evidence of a fork of a registered chain: two valid certificates for one height with different
     * checkpoints (or one, against the certificate accepted earlier for that height). Freezes the
     * client: none of that chain's proofs count from then on. Anyone may submit it.
     */
    evidence(ctx: ExecContext, args: Args) {
      arg.only(args, ['chainId', 'certificates']);
      const chainId = chainArg(args, 'chainId');
      const lc = liveLightClient(ctx, chainId);
      const certs = args.certificates;
      if (!Array.isArray(certs) || certs.length < 1 || certs.length > 2) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.certificates as one or two quorum certificates');
      }
      let [a, b] = certs as unknown[];
      if (b === undefined) {
        const cp = (a as { checkpoint?: Checkpoint } | null)?.checkpoint;
        if (typeof cp?.height !== 'number' || !Number.isSafeInteger(cp.height) || cp.height < 0) {
          throw new ExecFailure('INVALID_ARGS', 'expected a certificate with a checkpoint height');
        }
        b = ctx.get(acceptedCertificateKey(chainId, cp.height));
        if (b === undefined)
          throw new ExecFailure('NOT_FOUND', `no certificate of height ${cp.height} accepted before`);
      }
      const ev = checked('UNAUTHORIZED', () => checkEquivocation(lc, a, b, nativeVerifier));
      const cur = ctx.get(lightClientKey(chainId)) as Args;
      ctx.put(lightClientKey(chainId), {
        ...cur,
        ...freezeLightClient(lc, ev),
        frozenAt: ctx.height,
      } as unknown as JsonValue);
      ctx.put(evidenceKey(chainId), { ...ev, recordedAt: ctx.height } as unknown as JsonValue);
      return 'OK';
    },
  },
};
