/**
 * What the decision chain decides for an EVM leg, on the ledger alone (no EVM process): headers,
 * receipts and their trie built here as an EVM chain would, attested by the members. A COMMIT needs
 * every EVM lock's deadline `EVM_MARGIN_BLOCKS` past the highest attested block, and an attested
 * view of the EVM chain that is not stale (its newest attested header at most
 * `EVM_MAX_VIEW_AGE_MS` older than the decision chain's block time): attesters that fell behind
 * would otherwise let the decision chain commit a lock that already expired on the EVM chain.
 */
import { randomBytes } from 'node:crypto';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import {
  EVM_MARGIN_BLOCKS,
  EVM_MAX_VIEW_AGE_MS,
  evmLegHash,
  evmSecretKey,
  proveEvmKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { buildXtx, xtxPrepareTx } from '@custos/sdk';
import { tempDir } from '@custos/test-utils/node';
import { createMerkleProof, createMPT } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, encodeAbiParameters, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmRegistrationBytes } from '../src/modules/evm.js';
import { type Chain, freshKey, openChain, relaySigner, send } from './xtx-helpers.js';

const ORGS = ['org1', 'org2', 'org3'];
const EVM_CHAIN = 777_001;
const CONTRACT = `0x${randomBytes(20).toString('hex')}`;
const PID = `evm:${EVM_CHAIN}:${CONTRACT}`;
const VOTED = keccak256(toHex('Voted(bytes32,bool,bytes32,uint64)'));
const hex = (s: string) => Buffer.from(s.replace(/^0x/, ''), 'hex');

let tmp: ReturnType<typeof tempDir>;
let d: Chain;
let nextBlock = 100;

beforeAll(async () => {
  tmp = tempDir();
  d = await openChain(tmp.dir, 'gamma', ORGS);
  for (const org of ORGS) {
    const { address, proof } = proveEvmKey(evmSecretKey(), { chainId: 'gamma', member: org });
    expect(await send(d, d.orgs[org]!, 'member.setEvmKey', { address, proof })).toBe('OK');
  }
  const codeHash = keccak256('0x6080');
  const cosignatures = ORGS.map((o) => ({
    signer: didFromPublicKey(d.orgs[o]!.publicKey),
    sig: toBase64url(d.orgs[o]!.sign(evmRegistrationBytes('gamma', PID, codeHash))),
  }));
  expect(await send(d, d.orgs.org1!, 'evm.register', { participant: PID, codeHash, cosignatures })).toBe('OK');
});

afterAll(async () => {
  await d?.node.close();
  tmp?.cleanup();
});

/** A header (Cancun shape) with `receiptsRoot`, attested by org1 and org2. */
async function attest(receiptsRoot: Uint8Array, timestampMs: number): Promise<number> {
  const number = nextBlock++;
  const fields = [
    randomBytes(32),
    randomBytes(32),
    randomBytes(20),
    randomBytes(32),
    randomBytes(32),
    receiptsRoot,
    new Uint8Array(256),
    new Uint8Array(0),
    number,
    30_000_000,
    21_000,
    Math.floor(timestampMs / 1000),
    new Uint8Array(0),
    randomBytes(32),
    new Uint8Array(8),
    7,
    randomBytes(32),
    0,
    0,
    randomBytes(32),
  ];
  const rlp = bytesToHex(RLP.encode(fields));
  const args = { evmChainId: EVM_CHAIN, number, hash: keccak256(rlp), header: rlp };
  for (const org of ['org1', 'org2']) expect(await send(d, d.orgs[org]!, 'evm.attestHeader', args)).toBe('OK');
  return number;
}

/**
 * A body with the EVM leg, prepared on D; the contract's YES vote with `deadline` proven under an
 * attested header (`xtx.evmVote`, with `extra` args), and the body's kv key on D.
 */
async function votedXtx(deadline: number, headerTimeMs: number, extra: { [k: string]: JsonValue } = {}) {
  const leg = {
    token: `0x${randomBytes(20).toString('hex')}`,
    from: `0x${randomBytes(20).toString('hex')}`,
    to: `0x${randomBytes(20).toString('hex')}`,
    amount: '5',
  };
  const key = freshKey('d');
  const { xtx, xtxId } = buildXtx({
    decisionChain: 'gamma',
    deadlineHeight: d.node.latest().height + 100,
    ops: [{ chainId: 'gamma', type: 'kv.put', args: { ns: 'x', key, value: 1 }, signer: d.orgs.org1! }],
    legs: { [PID]: leg },
  });
  expect((await d.node.submitAndWait(xtxPrepareTx(xtx, 'gamma', relaySigner))).code).toBe('OK');
  const data = encodeAbiParameters(
    [{ type: 'bool' }, { type: 'bytes32' }, { type: 'uint64' }],
    [true, evmLegHash(leg), BigInt(deadline)],
  );
  const receipt = new Uint8Array([
    2,
    ...RLP.encode([
      Uint8Array.of(1),
      50_000,
      new Uint8Array(256),
      [[hex(CONTRACT), [hex(VOTED), hex(xtxId)], hex(data)]],
    ]),
  ]);
  const trie = await createMPT();
  await trie.put(RLP.encode(0), receipt);
  const number = await attest(trie.root(), headerTimeMs);
  const proof = (await createMerkleProof(trie, RLP.encode(0))).map((n) => bytesToHex(n));
  const vote = signTx(
    {
      chainId: 'gamma',
      type: 'xtx.evmVote',
      args: { xtx: xtx as unknown as JsonValue, participant: PID, number, index: 0, proof, ...extra },
    },
    relaySigner,
  );
  expect((await d.node.submitAndWait(vote)).code).toBe('OK');
  return { xtx, xtxId, number, key };
}

const decide = async (xtx: unknown) =>
  (
    await d.node.submitAndWait(
      signTx({ chainId: 'gamma', type: 'xtx.decide', args: { xtx: xtx as JsonValue, votes: [] } }, relaySigner),
    )
  ).code;

const decisionOf = (xtxId: string) => {
  const t = d.node.store.getState(`xtxd/${xtxId}`);
  return t === undefined ? null : (JSON.parse(t) as { decision: string; reason: string });
};

describe('the decision chain deciding an EVM leg', () => {
  it('commits a YES whose deadline leaves the margin, under a fresh view of the EVM chain', async () => {
    const { xtx, xtxId, number } = await votedXtx(nextBlock + 10 * EVM_MARGIN_BLOCKS, Date.now());
    expect(number).toBeGreaterThan(0);
    expect(await decide(xtx)).toBe('OK');
    expect(decisionOf(xtxId)).toMatchObject({ decision: 'COMMIT', reason: 'all-yes' });
    expect(d.node.store.getState(`xtxevmopen/${xtxId}/${PID}`)).toBeDefined();
  });

  it('aborts a YES whose deadline is inside the margin', async () => {
    const { xtx, xtxId } = await votedXtx(nextBlock + EVM_MARGIN_BLOCKS - 2, Date.now());
    expect(await decide(xtx)).toBe('OK');
    expect(decisionOf(xtxId)).toMatchObject({ decision: 'ABORT', reason: 'evm-lock-deadline' });
  });

  it('waits, deciding nothing, while the attested view is stale; commits once a fresh header is attested', async () => {
    const { xtx, xtxId } = await votedXtx(
      nextBlock + 10 * EVM_MARGIN_BLOCKS,
      Date.now() - EVM_MAX_VIEW_AGE_MS - 60_000,
    );
    expect(await decide(xtx)).toBe('CONFLICT');
    expect(decisionOf(xtxId)).toBeNull();
    await attest(randomBytes(32), Date.now());
    expect(await decide(xtx)).toBe('OK');
    expect(decisionOf(xtxId)).toMatchObject({ decision: 'COMMIT' });
  });
});

describe('an EVM vote that decides (xtx.evmVote with decide: true)', () => {
  const status = (xtxId: string) =>
    (JSON.parse(d.node.store.getState(`xtx/${xtxId}`) ?? 'null') as { status: string }).status;
  const kv = (key: string) =>
    (JSON.parse(d.node.store.getState(`kv/x/${key}`) ?? 'null') as { value: unknown } | null)?.value;

  it('decides COMMIT and applies D’s own write in the vote’s transaction', async () => {
    const before = d.node.latest().logSize;
    const { xtxId, key } = await votedXtx(nextBlock + 10 * EVM_MARGIN_BLOCKS, Date.now(), { decide: true });
    expect(decisionOf(xtxId)).toMatchObject({ decision: 'COMMIT', reason: 'all-yes' });
    expect(status(xtxId)).toBe('committed');
    expect(kv(key)).toBe(1);
    expect(d.node.store.getState(`xtxevmopen/${xtxId}/${PID}`)).toBeDefined();
    // The prepare, two attestations and the vote: no xtx.decide, no xtx.finalize.
    expect(d.node.latest().logSize - before).toBe(4);
  });

  it('decides ABORT under the same rules: a deadline inside the margin leaves D’s key unwritten', async () => {
    const { xtxId, key } = await votedXtx(nextBlock + EVM_MARGIN_BLOCKS - 2, Date.now(), { decide: true });
    expect(decisionOf(xtxId)).toMatchObject({ decision: 'ABORT', reason: 'evm-lock-deadline' });
    expect(status(xtxId)).toBe('aborted');
    expect(kv(key)).toBeUndefined();
  });

  it('records the vote alone while the view is stale; xtx.decide and xtx.finalize take it from there', async () => {
    const stale = Date.now() - EVM_MAX_VIEW_AGE_MS - 60_000;
    const { xtx, xtxId, key } = await votedXtx(nextBlock + 10 * EVM_MARGIN_BLOCKS, stale, { decide: true });
    expect(decisionOf(xtxId)).toBeNull();
    expect(d.node.store.getState(`xtxevm/${xtxId}/${PID}`)).toBeDefined();
    expect(status(xtxId)).toBe('prepared');
    await attest(randomBytes(32), Date.now());
    expect(await decide(xtx)).toBe('OK');
    const fin = signTx(
      { chainId: 'gamma', type: 'xtx.finalize', args: { xtx: xtx as unknown as JsonValue } },
      relaySigner,
    );
    expect((await d.node.submitAndWait(fin)).code).toBe('OK');
    expect(status(xtxId)).toBe('committed');
    expect(kv(key)).toBe(1);
  });

  it('without decide (as chains recorded it before) records the vote and decides nothing', async () => {
    const { xtxId } = await votedXtx(nextBlock + 10 * EVM_MARGIN_BLOCKS, Date.now());
    expect(decisionOf(xtxId)).toBeNull();
    expect(status(xtxId)).toBe('prepared');
  });
});
