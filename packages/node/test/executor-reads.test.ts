/**
 * The executor reads each committed key once per block: what the store answers cannot change while
 * a block executes, so a key many transactions read (a customer's consents, an org's profile) costs
 * one store read, while writes earlier in the block and the next block's state are still seen.
 */
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { parseTx, signTx } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { Executor, type StateReader } from '../src/exec/executor.js';
import { kvModule } from '../src/modules/kv.js';

const alice = nativeSigner(randomSecretKey());
const bob = nativeSigner(randomSecretKey());

/** Committed state in memory that counts the store reads of each key. */
function countingState(entries: Record<string, JsonValue>) {
  const m = new Map(Object.entries(entries).map(([k, v]) => [k, JSON.stringify(v)]));
  const reads = new Map<string, number>();
  const reader: StateReader = {
    getState: (k) => {
      reads.set(k, (reads.get(k) ?? 0) + 1);
      return m.get(k);
    },
    hasCommittedTx: () => false,
  };
  return { reader, reads, m };
}

const executor = new Executor([kvModule]);

function block(state: StateReader, height: number, puts: { by: typeof alice; key: string; value: number }[]) {
  const parsed = puts.map((p) =>
    parseTx(signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n', key: p.key, value: p.value } }, p.by)),
  );
  return executor.execute(
    { chainId: 'c', height, time: Date.now(), txs: parsed, sigOk: parsed.map(() => true) },
    state,
  );
}

describe('executor reads', () => {
  it('reads a key every transaction of a block checks once, and sees the block and the next block change it', () => {
    const owner = { value: 0, owner: didFromPublicKey(bob.publicKey), updatedAt: 1 };
    const { reader, reads, m } = countingState({ 'kv/n/a': owner });
    // Three writes by a signer who does not own the key: each reads the committed owner.
    const first = block(reader, 1, [
      { by: alice, key: 'a', value: 1 },
      { by: alice, key: 'a', value: 2 },
      { by: alice, key: 'a', value: 3 },
      // The owner writes it, and then the others see the owner's write of this block.
      { by: bob, key: 'a', value: 4 },
      { by: alice, key: 'a', value: 5 },
      // A key absent from the store: read once, then this block's write is what is seen.
      { by: alice, key: 'b', value: 6 },
      { by: bob, key: 'b', value: 7 },
    ]);
    expect(first.results).toEqual([
      'UNAUTHORIZED',
      'UNAUTHORIZED',
      'UNAUTHORIZED',
      'OK',
      'UNAUTHORIZED',
      'OK',
      'UNAUTHORIZED',
    ]);
    expect(reads.get('kv/n/a')).toBe(1);
    expect(reads.get('kv/n/b')).toBe(1);

    // The block is committed: the next block reads the store again and sees alice owns b now.
    for (const [k, v] of first.writes) if (v !== null) m.set(k, v);
    const second = block(reader, 2, [
      { by: alice, key: 'b', value: 8 },
      { by: bob, key: 'b', value: 9 },
    ]);
    expect(second.results).toEqual(['OK', 'UNAUTHORIZED']);
    expect(reads.get('kv/n/b')).toBe(2);
  });
});
