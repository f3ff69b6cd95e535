/**
 * The decision signer's off-thread signing (sign-pool.ts): what the worker signs is what the
 * calling thread would sign (RFC 6979 makes it the same bytes), and it recovers to the member's
 * address as the contract's `ecrecover` would; bad input is refused with what was expected.
 */
import { evmAddress, evmRecover, evmSecretKey, evmSign, useSecp256k1Native } from '@custos/protocol/interop';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { afterAll, describe, expect, it } from 'vitest';
import { libsecp256k1 } from '../src/crypto/secp256k1.js';
import { EvmSignPool, INLINE_SIGNATURES, MAX_DIGESTS_PER_JOB } from '../src/interop/evm/sign-pool.js';

const pool = new EvmSignPool();
afterAll(() => pool.close());

const digestsOf = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => keccak_256(new TextEncoder().encode(`${tag}/${i}`)));

describe('EvmSignPool', () => {
  it('signs in its worker what the calling thread signs, each recovering to the key', async () => {
    const key = evmSecretKey();
    const digests = digestsOf(40, 'decision');
    expect(digests.length).toBeGreaterThanOrEqual(INLINE_SIGNATURES);
    const signatures = await pool.signAll(digests, key);
    expect(signatures).toEqual(digests.map((d) => evmSign(d, key)));
    for (const [i, d] of digests.entries()) expect(evmRecover(d, signatures[i] as string)).toBe(evmAddress(key));
  });

  it('signs a few on the calling thread, and keeps serving jobs of several keys side by side', async () => {
    const [a, b] = [evmSecretKey(), evmSecretKey()];
    const few = digestsOf(INLINE_SIGNATURES - 1, 'few');
    expect(await pool.signAll(few, a)).toEqual(few.map((d) => evmSign(d, a)));
    const [da, db] = [digestsOf(10, 'a'), digestsOf(10, 'b')];
    const [sa, sb] = await Promise.all([pool.signAll(da, a), pool.signAll(db, b)]);
    expect(sa.map((s, i) => evmRecover(da[i] as Uint8Array, s))).toEqual(da.map(() => evmAddress(a)));
    expect(sb.map((s, i) => evmRecover(db[i] as Uint8Array, s))).toEqual(db.map(() => evmAddress(b)));
  });

  it('signs again with a new worker after its worker was stopped', async () => {
    const key = evmSecretKey();
    await pool.close();
    const digests = digestsOf(8, 'after');
    expect(await pool.signAll(digests, key)).toEqual(digests.map((d) => evmSign(d, key)));
  });

  it('signs on the calling thread with libsecp256k1, starting no worker', async () => {
    const key = evmSecretKey();
    const own = new EvmSignPool();
    const digests = digestsOf(40, 'native');
    useSecp256k1Native(libsecp256k1() ?? undefined);
    try {
      expect(await own.signAll(digests, key)).toEqual(digests.map((d) => evmSign(d, key)));
      expect((own as unknown as { worker?: unknown }).worker).toBeUndefined();
    } finally {
      useSecp256k1Native(undefined);
      await own.close();
    }
    // Without it, the same job goes to the worker.
    expect(await own.signAll(digests, key)).toEqual(digests.map((d) => evmSign(d, key)));
    expect((own as unknown as { worker?: unknown }).worker).toBeDefined();
    await own.close();
  });

  it('refuses a key or digest of the wrong size, and too many digests, saying what it expected', async () => {
    const key = evmSecretKey();
    await expect(pool.signAll(digestsOf(5, 'k'), key.subarray(1))).rejects.toThrow(/32-byte secp256k1 secret key/);
    const bad = [...digestsOf(5, 'd'), new Uint8Array(31)];
    await expect(pool.signAll(bad, key)).rejects.toThrow(/digests\[5\]: expected 32 bytes/);
    const many = Array.from({ length: MAX_DIGESTS_PER_JOB + 1 }, () => new Uint8Array(32));
    await expect(pool.signAll(many, key)).rejects.toThrow(`expected at most ${MAX_DIGESTS_PER_JOB} digests`);
  });
});
