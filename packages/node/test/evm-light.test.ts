/**
 * The EVM light client's pure checks (`@custos/protocol/interop`, evm-light.ts), against
 * `@ethereumjs/mpt` as the reference trie: every receipt of a 130-receipt trie (one- and two-byte keys) proven (branches,
 * extensions, inline nodes), absent keys, changed and extra nodes refused; the `Voted` event
 * decoded; header RLP of each fork's shape accepted and malformed ones refused; legHash as the
 * contract computes it (the contract's own value is checked on Hardhat in evm-xtx.test.ts).
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import {
  decodeEvmHeader,
  decodeEvmHeaderBytes,
  evmLegHash,
  evmVotedEvents,
  legHashOf,
  MAX_EVM_HEADER_BYTES,
  parseCrossChainTx,
  verifyEvmReceiptProof,
} from '@custos/protocol/interop';
import { buildXtx } from '@custos/sdk';
import { createMerkleProof, createMPT } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';

const CONTRACT = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const VOTED = keccak256(toHex('Voted(bytes32,bool,bytes32,uint64)'));
const xtxIdOf = (i: number) => i.toString(16).padStart(64, '0');

function receipt(i: number): Uint8Array {
  const data = encodeAbiParameters(
    [{ type: 'bool' }, { type: 'bytes32' }, { type: 'uint64' }],
    [i % 3 !== 0, `0x${'ab'.repeat(32)}`, BigInt(1000 + i)],
  );
  const log = [
    Buffer.from(CONTRACT.slice(2), 'hex'),
    [VOTED, `0x${xtxIdOf(i)}`].map((t) => Buffer.from(t.slice(2), 'hex')),
    Buffer.from(data.slice(2), 'hex'),
  ];
  const body = RLP.encode([
    i % 7 === 0 ? new Uint8Array(0) : Uint8Array.of(1),
    21000 * (i + 1),
    new Uint8Array(256),
    [log],
  ]);
  // Typed (EIP-1559) and legacy receipts mixed.
  return i % 2 === 0 ? new Uint8Array([2, ...body]) : body;
}

let root: Hex;
const proofs: Hex[][] = [];
const N = 130;
let trie: Awaited<ReturnType<typeof createMPT>>;

beforeAll(async () => {
  trie = await createMPT();
  for (let i = 0; i < N; i++) await trie.put(RLP.encode(i), receipt(i));
  root = bytesToHex(trie.root());
  for (let i = 0; i < N; i++) proofs.push((await createMerkleProof(trie, RLP.encode(i))).map((n) => bytesToHex(n)));
});

describe('receipts-trie proofs', () => {
  it('proves every receipt and decodes its Voted event (none in a failed receipt)', () => {
    for (let i = 0; i < N; i++) {
      const r = verifyEvmReceiptProof(root, i, proofs[i]);
      expect(r.type).toBe(i % 2 === 0 ? 2 : 0);
      expect(r.status).toBe(i % 7 === 0 ? 0 : 1);
      const votes = evmVotedEvents(r, CONTRACT);
      if (i % 7 === 0) expect(votes).toEqual([]);
      else
        expect(votes).toEqual([
          { xtxId: xtxIdOf(i), yes: i % 3 !== 0, legHash: `0x${'ab'.repeat(32)}`, deadline: 1000 + i },
        ]);
      expect(evmVotedEvents(r, '0x0000000000000000000000000000000000000001')).toEqual([]);
    }
  });

  it('refuses another index, a changed node, an extra node, a missing node, another root, junk', () => {
    const p = proofs[5] as Hex[];
    expect(() => verifyEvmReceiptProof(root, 6, p)).toThrow(/BAD_PROOF|proof/);
    const last = p[p.length - 1] as string;
    const changed = [...p.slice(0, -1), `${last.slice(0, -2)}${last.endsWith('00') ? '01' : '00'}`];
    expect(() => verifyEvmReceiptProof(root, 5, changed)).toThrow(/does not hash/);
    expect(() => verifyEvmReceiptProof(root, 5, [...p, p[0] as string])).toThrow(/off the path/);
    expect(() => verifyEvmReceiptProof(root, 5, p.slice(0, -1))).toThrow(/missing/);
    expect(() => verifyEvmReceiptProof(`0x${'11'.repeat(32)}`, 5, p)).toThrow(/does not hash/);
    expect(() => verifyEvmReceiptProof(root, 5, [])).toThrow(/1 to 16/);
    expect(() => verifyEvmReceiptProof(root, 5, ['0xzz'])).toThrow(/hex/);
    expect(() => verifyEvmReceiptProof(root, -1, p)).toThrow(/index/);
    expect(() => verifyEvmReceiptProof(root, 5, 'nope')).toThrow(/1 to 16/);
  });

  it('an index beyond the trie is proven absent and refused', async () => {
    const absent = (await createMerkleProof(trie, RLP.encode(N + 5))).map((n) => bytesToHex(n));
    expect(() => verifyEvmReceiptProof(root, N + 5, absent)).toThrow(/no receipt at index/);
  });
});

describe('header RLP', () => {
  const word = (b: number, n = 32) => new Uint8Array(n).fill(b);
  const base = () => [
    word(1),
    word(2),
    word(3, 20),
    word(4),
    word(5),
    word(6),
    word(0, 256),
    new Uint8Array(0),
    Uint8Array.of(0x12, 0x34),
    Uint8Array.of(0x01, 0xc9, 0xc3, 0x80),
    Uint8Array.of(0x52, 0x08),
    Uint8Array.of(0x65, 0x00, 0x00, 0x00),
    Uint8Array.of(0xde, 0xad),
    word(7),
    word(0, 8),
  ];
  const forks: [string, Uint8Array[]][] = [
    ['pre-London', []],
    ['London', [Uint8Array.of(7)]],
    ['Shanghai', [Uint8Array.of(7), word(8)]],
    ['Cancun', [Uint8Array.of(7), word(8), new Uint8Array(0), new Uint8Array(0), word(9)]],
    ['Prague', [Uint8Array.of(7), word(8), new Uint8Array(0), new Uint8Array(0), word(9), word(10)]],
  ];

  it.each(forks)('accepts a %s header and hashes it', (_fork, extra) => {
    const rlp = bytesToHex(RLP.encode([...base(), ...extra]));
    const h = decodeEvmHeader(rlp);
    // From bytes (the attester's own check), the same.
    expect(decodeEvmHeaderBytes(RLP.encode([...base(), ...extra]))).toEqual(h);
    expect(h).toEqual({
      hash: keccak256(rlp),
      parentHash: `0x${'01'.repeat(32)}`,
      number: 0x1234,
      receiptsRoot: `0x${'06'.repeat(32)}`,
      timestamp: 0x65000000,
    });
  });

  it('refuses a wrong field count, wrong sizes, non-canonical integers, nested lists, oversized input', () => {
    const enc = (f: unknown[]) => bytesToHex(RLP.encode(f as Uint8Array[]));
    expect(() => decodeEvmHeader(enc([...base(), Uint8Array.of(7), word(8), new Uint8Array(0)]))).toThrow(/fields/);
    const shortRoot = base();
    shortRoot[5] = word(6, 31);
    expect(() => decodeEvmHeader(enc(shortRoot))).toThrow(/field 5/);
    const padded = base();
    padded[8] = Uint8Array.of(0, 1);
    expect(() => decodeEvmHeader(enc(padded))).toThrow(/canonical integer/);
    const nested = base() as unknown[];
    nested[12] = [Uint8Array.of(1)];
    expect(() => decodeEvmHeader(enc(nested))).toThrow(/list/);
    expect(() => decodeEvmHeader(`0x${'00'.repeat(MAX_EVM_HEADER_BYTES + 1)}`)).toThrow(/more than/);
    expect(() => decodeEvmHeaderBytes(new Uint8Array(MAX_EVM_HEADER_BYTES + 1))).toThrow(/at most/);
    expect(() => decodeEvmHeader('0x')).toThrow(/hex/);
    expect(() => decodeEvmHeader(42)).toThrow(/hex/);
    expect(() => decodeEvmHeader('0xc0ff')).toThrow(/RLP/);
  });
});

describe('legHash', () => {
  it('is keccak256(abi.encode(token, from, to, amount))', () => {
    const leg = {
      token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
      to: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
      amount: '10',
    };
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }],
        [leg.token as Hex, leg.from as Hex, leg.to as Hex, 10n],
      ),
    );
    expect(evmLegHash(leg)).toBe(expected);
    expect(() => evmLegHash({ ...leg, amount: '0' })).toThrow(/amount/);
    expect(() => evmLegHash({ ...leg, to: 'bob' })).toThrow(/address/);
  });
});

describe('a cross-chain body with an EVM participant', () => {
  const signer = nativeSigner(randomSecretKey());
  const pid = `evm:31337:${CONTRACT}`;
  const leg = {
    token: CONTRACT,
    from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
    to: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
    amount: '10',
  };
  const build = (legs: Record<string, unknown>) =>
    buildXtx({
      decisionChain: 'alpha',
      deadlineHeight: 10,
      ops: [{ chainId: 'alpha', type: 'kv.put', args: { ns: 'x', key: 'k', value: 1 }, signer }],
      legs: legs as never,
    });

  it('binds the leg in the plan: another leg is another plan, and the legHash is the leg’s', () => {
    const { xtx, planHash } = build({ [pid]: leg });
    expect(xtx.participants).toEqual(['alpha', pid]);
    expect(legHashOf(xtx, pid)).toBe(evmLegHash(leg));
    expect(build({ [pid]: { ...leg, amount: '11' } }).planHash).not.toBe(planHash);
    // The signed operation is bound to the plan with the leg: changing the leg breaks the binding.
    expect(() => parseCrossChainTx({ ...xtx, legs: { [pid]: { ...leg, amount: '11' } } })).toThrow(/not bound/);
  });

  it('refuses bad legs, legs without EVM participants, an EVM decision chain, malformed ids', () => {
    const { xtx } = build({ [pid]: leg });
    const bad = (patch: Record<string, unknown>) => () => parseCrossChainTx({ ...xtx, ...patch });
    expect(bad({ legs: { [pid]: { ...leg, amount: '0' } } })).toThrow(/amount/);
    expect(bad({ legs: { [pid]: { ...leg, amount: '-1' } } })).toThrow(/amount/);
    expect(bad({ legs: { [pid]: { ...leg, to: '0x0000000000000000000000000000000000000000' } } })).toThrow(/to/);
    expect(bad({ legs: { [pid]: { ...leg, extra: 1 } } })).toThrow(/exactly the fields/);
    expect(bad({ legs: {} })).toThrow(/exactly the fields/);
    expect(bad({ legs: undefined })).toThrow();
    expect(bad({ decisionChain: pid })).toThrow(/Custos participants/);
    expect(bad({ participants: ['alpha', `evm:0:${CONTRACT}`] })).toThrow(/participants/);
    expect(bad({ participants: ['alpha', `evm:31337:${CONTRACT.toUpperCase()}`] })).toThrow(/participants/);
    const { xtx: plain } = buildXtx({
      decisionChain: 'alpha',
      deadlineHeight: 10,
      ops: ['alpha', 'beta'].map((chainId) => ({
        chainId,
        type: 'kv.put',
        args: { ns: 'x', key: 'k', value: 1 },
        signer,
      })),
    });
    expect(plain).not.toHaveProperty('legs');
    expect(() => parseCrossChainTx({ ...plain, legs: { [pid]: leg } })).toThrow(/legs only with EVM participants/);
  });
});
