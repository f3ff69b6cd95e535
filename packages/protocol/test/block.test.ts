/**
 * Block headers: hashing, the shape check and every link check between a header and the one
 * before it (genesis, chain, height, prevHash, time, log size), plus the log entry encoding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { publicKeyOf } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { sha256 } from '../src/hash.js';
import { canonicalize } from '../src/jcs.js';
import {
  type BlockHeader,
  checkHeaderLink,
  checkHeaderShape,
  headerHash,
  logEntryBytes,
  RESULT_CODES,
  ZERO_HASH,
} from '../src/ledger/block.js';

const proposer = didFromPublicKey(publicKeyOf(new Uint8Array(32).fill(3)));

const genesis: BlockHeader = {
  chainId: 'custos-test',
  height: 0,
  prevHash: ZERO_HASH,
  time: 1_767_225_600_000,
  logSize: 0,
  logRoot: toHex(sha256(new Uint8Array(0))),
  stateRoot: 'ab'.repeat(32),
  proposer,
  txCount: 0,
};

function next(prev: BlockHeader, txCount = 3, overrides: Partial<BlockHeader> = {}): BlockHeader {
  return {
    ...prev,
    height: prev.height + 1,
    prevHash: headerHash(prev),
    time: prev.time + 1000,
    logSize: prev.logSize + txCount,
    logRoot: 'cd'.repeat(32),
    stateRoot: 'ef'.repeat(32),
    txCount,
    ...overrides,
  };
}

function expectBadBlock(f: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe('BAD_BLOCK');
  if (message !== undefined) expect((thrown as ProtocolError).message).toMatch(message);
}

describe('headerHash', () => {
  it('is the hex SHA-256 of the canonical header, whatever the field order', () => {
    expect(headerHash(genesis)).toBe(toHex(sha256(utf8(canonicalize(genesis)))));
    const reversed = Object.fromEntries(Object.entries(genesis).reverse()) as unknown as BlockHeader;
    expect(headerHash(reversed)).toBe(headerHash(genesis));
  });

  it('changes with every field', () => {
    const h = headerHash(genesis);
    const changes: Partial<BlockHeader>[] = [
      { chainId: 'custos-other' },
      { height: 1 },
      { prevHash: '01'.repeat(32) },
      { time: genesis.time + 1 },
      { logSize: 1 },
      { logRoot: '00'.repeat(32) },
      { stateRoot: '00'.repeat(32) },
      { proposer: didFromPublicKey(publicKeyOf(new Uint8Array(32).fill(4))) },
      { txCount: 1 },
    ];
    for (const c of changes) expect(headerHash({ ...genesis, ...c })).not.toBe(h);
  });
});

describe('checkHeaderLink', () => {
  it('accepts a genesis header and a chain of headers', () => {
    expect(() => checkHeaderLink(null, genesis)).not.toThrow();
    let prev = genesis;
    for (const txCount of [0, 1, 5, 0, 100]) {
      const h = next(prev, txCount);
      expect(() => checkHeaderLink(prev, h)).not.toThrow();
      prev = h;
    }
  });

  it('accepts a block with the same time as the previous one', () => {
    expect(() => checkHeaderLink(genesis, next(genesis, 1, { time: genesis.time }))).not.toThrow();
  });

  it('rejects a genesis header that is not at height 0 or has a non-zero prevHash', () => {
    expectBadBlock(() => checkHeaderLink(null, { ...genesis, height: 1 }), /genesis/);
    expectBadBlock(() => checkHeaderLink(null, { ...genesis, prevHash: '01'.repeat(32) }), /genesis/);
    expectBadBlock(() => checkHeaderLink(null, next(genesis)), /genesis/);
  });

  it('rejects another chain', () => {
    expectBadBlock(() => checkHeaderLink(genesis, next(genesis, 1, { chainId: 'custos-other' })), /chainId/);
  });

  it('rejects a height that is not the previous one plus one', () => {
    for (const height of [0, 2, 100]) {
      expectBadBlock(() => checkHeaderLink(genesis, next(genesis, 1, { height })), /expected height 1/);
    }
  });

  it('rejects a prevHash that is not the hash of the previous header', () => {
    const b1 = next(genesis);
    const forked = { ...genesis, stateRoot: '99'.repeat(32) };
    for (const prevHash of [ZERO_HASH, headerHash(forked), headerHash(b1), 'AB'.repeat(32)]) {
      expectBadBlock(() => checkHeaderLink(genesis, { ...b1, prevHash }));
    }
  });

  it('rejects time going backwards', () => {
    expectBadBlock(() => checkHeaderLink(genesis, next(genesis, 1, { time: genesis.time - 1 })), /time/);
  });

  it('rejects a log size other than the previous one plus txCount', () => {
    const b1 = next(genesis, 4);
    for (const logSize of [0, 3, 5]) {
      expectBadBlock(() => checkHeaderLink(genesis, { ...b1, logSize }), /expected logSize 4/);
    }
    expectBadBlock(() => checkHeaderLink(genesis, { ...b1, txCount: 5 }), /expected logSize 5/);
  });

  it('checks the shape of the new header first', () => {
    expectBadBlock(() => checkHeaderLink(genesis, { ...next(genesis), height: -1 }), /header\.height/);
    expectBadBlock(() => checkHeaderLink(null, { ...genesis, extra: 1 } as BlockHeader), /header fields/);
  });
});

describe('checkHeaderShape', () => {
  it('accepts well-formed headers', () => {
    expect(() => checkHeaderShape(genesis)).not.toThrow();
    expect(() => checkHeaderShape(next(genesis))).not.toThrow();
  });

  it('rejects anything but an object', () => {
    for (const h of [null, undefined, 1, 'header', true]) expectBadBlock(() => checkHeaderShape(h), /header object/);
    expectBadBlock(() => checkHeaderShape([]));
  });

  it('rejects missing and extra fields', () => {
    for (const k of Object.keys(genesis)) {
      const h: Record<string, unknown> = { ...genesis };
      delete h[k];
      expectBadBlock(() => checkHeaderShape(h), /expected header fields/);
    }
    expectBadBlock(() => checkHeaderShape({ ...genesis, sig: 'x' }), /expected header fields/);
    const swapped: Record<string, unknown> = { ...genesis, txcount: 0 };
    delete swapped.txCount;
    expectBadBlock(() => checkHeaderShape(swapped), /expected header fields/);
  });

  it('rejects numbers that are not non-negative safe integers', () => {
    for (const k of ['height', 'time', 'logSize', 'txCount']) {
      for (const v of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '1', null]) {
        expectBadBlock(() => checkHeaderShape({ ...genesis, [k]: v }), new RegExp(`header\\.${k}`));
      }
    }
  });

  it('rejects hashes that are not 64 lower-case hex characters', () => {
    for (const k of ['prevHash', 'logRoot', 'stateRoot']) {
      for (const v of ['AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), 7, null]) {
        expectBadBlock(() => checkHeaderShape({ ...genesis, [k]: v }), new RegExp(`header\\.${k}`));
      }
    }
  });

  it('rejects a chainId or proposer that is not a string', () => {
    for (const k of ['chainId', 'proposer']) {
      for (const v of [1, null, ['x'], {}]) {
        expectBadBlock(() => checkHeaderShape({ ...genesis, [k]: v }), /header\.chainId and header\.proposer/);
      }
    }
  });

  it('throws nothing but BAD_BLOCK on arbitrary input', () => {
    const field = fc.constantFrom(...Object.keys(genesis));
    fc.assert(
      fc.property(fc.anything(), field, fc.anything(), (whole, k, v) => {
        for (const h of [whole, { ...genesis, [k]: v }]) {
          try {
            checkHeaderShape(h);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
            expect((e as ProtocolError).code).toBe('BAD_BLOCK');
          }
        }
      }),
    );
  });
});

describe('log entries', () => {
  it('are the canonical JSON of {code, height, index, time, txId}', () => {
    const txId = 'aa'.repeat(32);
    expect(
      new TextDecoder().decode(logEntryBytes({ txId, height: 7, index: 2, time: 1700000000000, code: 'OK' })),
    ).toBe(`{"code":"OK","height":7,"index":2,"time":1700000000000,"txId":"${txId}"}`);
  });

  it('differ for every result code', () => {
    const seen = new Set(
      RESULT_CODES.map((code) => toHex(logEntryBytes({ txId: 'aa'.repeat(32), height: 1, index: 0, time: 0, code }))),
    );
    expect(seen.size).toBe(RESULT_CODES.length);
    expect(RESULT_CODES[0]).toBe('OK');
  });
});
