/**
 * Fixtures for cross-chain tests: several chains in one process (each its own genesis, members and
 * solo orderer), their light clients of each other, and the protocol's steps built by hand, so a
 * test can drop, duplicate, reorder or forge any message.
 */
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import {
  type CrossChainTx,
  type DecisionProof,
  type RemoteChain,
  signRegistration,
  type VoteProof,
  type XtxDecisionRecord,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import { buildXtx, xtxPrepareTx } from '@custos/sdk';
import { nativeSigner } from '../src/crypto/native.js';
import { exampleProfile } from '../src/demo/profiles.js';
import { type Genesis, makeGenesis, memberSetOf } from '../src/genesis.js';
import { nodeEndpoint } from '../src/interop/endpoint.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { CustosNode } from '../src/node.js';
import { stateProof } from '../src/proofs.js';

export interface Chain {
  chainId: string;
  node: CustosNode;
  genesis: Genesis;
  orgs: Record<string, Signer>;
  dbPath: string;
}

/** Opens a new chain with fresh member keys; every member key signs its checkpoints. */
export async function openChain(dir: string, chainId: string, orgIds = ['org1', 'org2', 'org3']): Promise<Chain> {
  const orgs: Record<string, Signer> = {};
  for (const id of orgIds) orgs[id] = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId,
    time: Date.now() - 1000,
    members: orgIds.map((id) => ({
      id,
      name: `${id} of ${chainId}`,
      keys: [didFromPublicKey(orgs[id]!.publicKey)],
      profile: exampleProfile(id),
    })),
    params: { blockMaxTxs: 500, blockMaxMs: 2 },
  });
  const dbPath = join(dir, `${chainId}.db`);
  const node = await open(dbPath, genesis, Object.values(orgs));
  return { chainId, node, genesis, orgs, dbPath };
}

function open(dbPath: string, genesis: Genesis, signers: Signer[]): Promise<CustosNode> {
  return CustosNode.open({ dbPath, genesis, signers, verifyThreads: 1, synchronous: 'NORMAL' });
}

/** Stops a chain (as if its peers went down). */
export async function stop(c: Chain): Promise<void> {
  await c.node.close();
}

/** Starts a stopped chain again from its store, optionally signing with other keys. */
export async function restart(c: Chain, signers: Signer[] = Object.values(c.orgs)): Promise<void> {
  c.node = await open(c.dbPath, c.genesis, signers);
}

export function remoteOf(c: Chain): RemoteChain {
  return { chainId: c.chainId, members: memberSetOf(c.genesis) };
}

/** Registers `remote`'s light client on `local`, co-signed by all of `local`'s members. */
export async function register(local: Chain, remote: Chain | RemoteChain): Promise<string> {
  const r = 'node' in remote ? remoteOf(remote) : remote;
  const signers = Object.values(local.orgs);
  const cosignatures = signers.map((s) => signRegistration(local.chainId, r, s));
  return send(local, signers[0]!, 'interop.register', {
    chain: r as unknown as JsonValue,
    cosignatures: cosignatures as unknown as JsonValue,
  });
}

/** Every chain gets a light client of every other one. */
export async function connect(chains: Chain[]): Promise<void> {
  for (const a of chains) for (const b of chains) if (a !== b) expectOk(await register(a, b));
}

function expectOk(code: string): void {
  if (code !== 'OK') throw new Error(`expected OK, got ${code}`);
}

/** Signs and submits a transaction on `c`; resolves with its result code. */
export async function send(c: Chain, signer: Signer, type: string, args: { [k: string]: JsonValue }): Promise<string> {
  return (await c.node.submitAndWait(signTx({ chainId: c.chainId, type, args }, signer))).code;
}

export async function submit(c: Chain, tx: SignedTx): Promise<string> {
  return (await c.node.submitAndWait(tx)).code;
}

/** One block on `c` (D's clock is its height). */
export async function tick(c: Chain, n = 1): Promise<void> {
  const s = nativeSigner(randomSecretKey());
  for (let i = 0; i < n; i++) await send(c, s, 'kv.put', { ns: 'tick', key: `t${i}`, value: i });
}

export const relaySigner: Signer = nativeSigner(randomSecretKey());

let keySeq = 0;
/** A fresh key name, so tests and runs never collide. */
export function freshKey(prefix = 'k'): string {
  keySeq++;
  return `${prefix}${keySeq}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A cross-chain transaction of kv.put operations: `keys[chainId]` are written by `owner` on each chain. */
export function kvXtx(
  chains: Chain[],
  opts: { decision: Chain; deadlineHeight: number; keys: Record<string, string[]>; owner: Signer; value?: JsonValue },
): { xtx: CrossChainTx; xtxId: string } {
  return buildXtx({
    decisionChain: opts.decision.chainId,
    deadlineHeight: opts.deadlineHeight,
    ops: chains.flatMap((c) =>
      (opts.keys[c.chainId] ?? []).map((key) => ({
        chainId: c.chainId,
        type: 'kv.put',
        args: { ns: 'x', key, value: opts.value ?? key },
        signer: opts.owner,
      })),
    ),
  });
}

export function prepareTx(c: Chain, xtx: CrossChainTx): SignedTx {
  return xtxPrepareTx(xtx, c.chainId, relaySigner);
}

export function voteProof(c: Chain, xtxId: string): VoteProof {
  const b = stateProof(c.node, xtxVoteKey(xtxId));
  return { chainId: c.chainId, certificate: b.certificate, proof: b.proof, value: b.value as JsonValue };
}

export function decisionProof(d: Chain, xtxId: string): DecisionProof {
  const b = stateProof(d.node, xtxDecisionKey(xtxId));
  return { certificate: b.certificate, proof: b.proof, value: b.value as JsonValue };
}

export function decideTx(d: Chain, xtx: CrossChainTx, votes: unknown[]): SignedTx {
  return signTx(
    {
      chainId: d.chainId,
      type: 'xtx.decide',
      args: { xtx: xtx as unknown as JsonValue, votes: votes as JsonValue },
    },
    relaySigner,
  );
}

export function timeoutTx(d: Chain, xtx: CrossChainTx): SignedTx {
  return signTx(
    { chainId: d.chainId, type: 'xtx.decide', args: { xtx: xtx as unknown as JsonValue, timeout: true } },
    relaySigner,
  );
}

export function finalizeTx(c: Chain, xtx: CrossChainTx, proof?: unknown): SignedTx {
  const args: { [k: string]: JsonValue } = { xtx: xtx as unknown as JsonValue };
  if (proof !== undefined) args.decision = proof as JsonValue;
  return signTx({ chainId: c.chainId, type: 'xtx.finalize', args }, relaySigner);
}

export function voteOf(c: Chain, xtxId: string): XtxVoteRecord | null {
  const t = c.node.store.getState(xtxVoteKey(xtxId));
  return t === undefined ? null : (JSON.parse(t) as XtxVoteRecord);
}

export function decisionOf(d: Chain, xtxId: string): XtxDecisionRecord | null {
  const t = d.node.store.getState(xtxDecisionKey(xtxId));
  return t === undefined ? null : (JSON.parse(t) as XtxDecisionRecord);
}

/** Lock entries on `c`, optionally only those held by `xtxId`. */
export function locksOf(c: Chain, xtxId?: string): string[] {
  return c.node.store
    .listState('lock/', undefined, 10_000)
    .filter((r) => xtxId === undefined || JSON.parse(r.value) === xtxId)
    .map((r) => r.key);
}

export function kvValue(c: Chain, key: string): JsonValue | undefined {
  const t = c.node.store.getState(`kv/x/${key}`);
  return t === undefined ? undefined : (JSON.parse(t) as { value: JsonValue }).value;
}

export function relayer(chains: Chain[], onAction?: (a: RelayAction) => void): Relayer {
  return new Relayer({
    chains: chains.map((c) => nodeEndpoint(c.node)),
    signer: nativeSigner(randomSecretKey()),
    ...(onAction === undefined ? {} : { onAction }),
  });
}

/** Steps `r` until a step submits nothing (or `max` steps); returns every action. */
export async function settle(r: Relayer, max = 20): Promise<RelayAction[]> {
  const all: RelayAction[] = [];
  for (let i = 0; i < max; i++) {
    const a = await r.step();
    all.push(...a);
    if (a.length === 0) break;
  }
  return all;
}
