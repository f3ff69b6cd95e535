/**
 * The EVM side's signatures and certificates (src/interop/evm.ts, docs/interop.md), in process:
 * address derivation against a published vector, sign and recover, the checks a certificate goes
 * through before the contract sees it. That the digests equal the Solidity contract's is tested on a
 * real chain (packages/node/test/evm-participant.test.ts).
 */
import { codeChecker } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes.js';
import { ProtocolError } from '../src/errors.js';
import {
  EVM_MAX_MEMBERS,
  type EvmDomain,
  evmAddress,
  evmDecisionDigest,
  evmKnownKeys,
  evmMembersDigest,
  evmRecover,
  evmSecretKey,
  evmSign,
  sortEvmSignatures,
  verifyEvmCertificate,
} from '../src/interop/evm.js';

const expectCode = codeChecker(ProtocolError);
const domain: EvmDomain = { chainId: 31337, contract: `0x${'ab'.repeat(20)}` };
const XTX = 'cd'.repeat(32);
const LEG = `0x${'ab'.repeat(32)}`;

function members(n: number) {
  return Array.from({ length: n }, () => {
    const key = evmSecretKey();
    return { key, address: evmAddress(key) };
  }).sort((a, b) => (a.address < b.address ? -1 : 1));
}

describe('EVM keys and signatures', () => {
  it('derives the address of the first Hardhat/Anvil development key (a published vector)', () => {
    const key = fromHex('ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', 32);
    expect(evmAddress(key)).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
  });

  it('recovers the signer of any digest, with low s and v 27 or 28', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const key = evmSecretKey();
        const sig = evmSign(digest, key);
        expect(sig).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
        expect(
          BigInt(`0x${sig.slice(66, 130)}`) <= 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n,
        ).toBe(true);
        expect(evmRecover(digest, sig)).toBe(evmAddress(key));
      }),
      { numRuns: 10 },
    );
  });

  it('refuses malformed and malleated signatures', () => {
    const digest = evmDecisionDigest(domain, XTX, LEG, true, 1);
    const sig = evmSign(digest, evmSecretKey());
    expectCode(() => evmRecover(digest, sig.slice(0, 130)), 'BAD_ENCODING');
    expectCode(() => evmRecover(digest, `${sig.slice(0, 130)}1d`), 'BAD_SIGNATURE', /v 27 or 28/);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const twin = `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${sig.endsWith('1b') ? '1c' : '1b'}`;
    expectCode(() => evmRecover(digest, twin), 'BAD_SIGNATURE', /low s/);
  });

  it('recovers the same with an expected signer: the fast check accepts only what ecrecover gives that signer', () => {
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const [key, other] = [evmSecretKey(), evmSecretKey()];
    const [me, them] = [evmAddress(key), evmAddress(other)];
    const digest = evmDecisionDigest(domain, XTX, LEG, true, 1);
    // The first check recovers in full and keeps the key; the later ones check against it.
    expect(evmRecover(digest, evmSign(digest, key), me)).toBe(me);
    const outcome = (f: () => string) => {
      try {
        return f();
      } catch (e) {
        return `${(e as ProtocolError).code}: ${(e as Error).message}`;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), fc.nat(5), (signed, mine, tamper) => {
        let d: Uint8Array = signed;
        let sig: string = evmSign(d, mine ? key : other);
        const r = BigInt(`0x${sig.slice(2, 66)}`);
        const s = BigInt(`0x${sig.slice(66, 130)}`);
        const word = (x: bigint) => x.toString(16).padStart(64, '0');
        // The other parity, the high-s twin, another digest, r and s out of range, or as signed.
        if (tamper === 1) sig = `${sig.slice(0, 130)}${sig.endsWith('1b') ? '1c' : '1b'}`;
        if (tamper === 2) sig = `0x${word(r)}${word(n - s)}${sig.endsWith('1b') ? '1c' : '1b'}`;
        if (tamper === 3) d = evmDecisionDigest(domain, XTX, LEG, false, 1);
        if (tamper === 4) sig = `0x${word(r + n < 1n << 256n ? r + n : 0n)}${sig.slice(66)}`;
        if (tamper === 5) sig = `0x${word(r)}${word(0n)}${sig.slice(130)}`;
        const full = outcome(() => evmRecover(d, sig));
        expect(outcome(() => evmRecover(d, sig, me))).toBe(full);
        expect(outcome(() => evmRecover(d, sig, them))).toBe(full);
        if (tamper === 0) expect(full).toBe(mine ? me : them);
        else expect(full).not.toBe(me);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps at most one key per member of the largest set for fast checks', () => {
    const digest = evmDecisionDigest(domain, XTX, LEG, true, 1);
    for (let i = 0; i < EVM_MAX_MEMBERS + 6; i++) {
      const key = evmSecretKey();
      expect(evmRecover(digest, evmSign(digest, key), evmAddress(key))).toBe(evmAddress(key));
    }
    expect(evmKnownKeys()).toBe(EVM_MAX_MEMBERS);
  });

  it('binds digests to chain, contract, transaction, leg, decision and epoch', () => {
    const base = toHex(evmDecisionDigest(domain, XTX, LEG, true, 1));
    const variants = [
      evmDecisionDigest({ ...domain, chainId: 1 }, XTX, LEG, true, 1),
      evmDecisionDigest({ ...domain, contract: `0x${'ac'.repeat(20)}` }, XTX, LEG, true, 1),
      evmDecisionDigest(domain, 'ce'.repeat(32), LEG, true, 1),
      evmDecisionDigest(domain, XTX, `0x${'ef'.repeat(32)}`, true, 1),
      evmDecisionDigest(domain, XTX, LEG, false, 1),
      evmDecisionDigest(domain, XTX, LEG, true, 2),
      evmMembersDigest(domain, 1, [], 1),
    ].map(toHex);
    expect(new Set([base, ...variants]).size).toBe(8);
    // 0x-prefixed and bare ids are the same id.
    expect(toHex(evmDecisionDigest(domain, `0x${XTX}`, LEG, true, 1))).toBe(base);
    expectCode(() => evmDecisionDigest(domain, 'cd', LEG, true, 1), 'BAD_ENCODING', /xtxId/);
    expectCode(() => evmDecisionDigest({ ...domain, contract: '0x12' }, XTX, LEG, true, 1), 'BAD_ENCODING', /contract/);
    expectCode(() => evmDecisionDigest(domain, XTX, LEG, true, -1), 'BAD_ENCODING', /epoch/);
    expectCode(() => evmDecisionDigest(domain, XTX, XTX, true, 1), 'BAD_ENCODING', /legHash/);
    expectCode(() => evmMembersDigest(domain, 1, Array(65).fill(domain.contract), 33), 'BAD_ENCODING', /at most 64/);
  });
});

describe('EVM decision certificates', () => {
  const set = members(3);
  const addresses = set.map((m) => m.address);
  const digest = evmDecisionDigest(domain, XTX, LEG, true, 4);
  const signed = (signers: typeof set) =>
    sortEvmSignatures(
      digest,
      signers.map((m) => evmSign(digest, m.key)),
    );
  const check = (signatures: `0x${string}`[], epoch = 4) =>
    verifyEvmCertificate(
      domain,
      { xtxId: XTX, legHash: LEG, commit: true, epoch, signatures },
      { epoch: 4, addresses, threshold: 2 },
    );

  it('accepts a quorum in signer order; sorting drops a duplicate signer', () => {
    check(signed(set.slice(0, 2)));
    check(signed(set));
    const twice = sortEvmSignatures(digest, [...signed([set[0]!]), ...signed([set[0]!])]);
    expect(twice).toHaveLength(1);
  });

  it('refuses too few, unsorted, duplicate, outsider and wrong-epoch certificates', () => {
    const [a, b] = signed(set.slice(0, 2)) as [`0x${string}`, `0x${string}`];
    expectCode(() => check([a]), 'BAD_CERTIFICATE', /1 of a threshold of 2/);
    expectCode(() => check([b, a]), 'BAD_CERTIFICATE', /increasing signer order/);
    expectCode(() => check([a, a]), 'BAD_CERTIFICATE', /increasing signer order/);
    expectCode(() => check(signed([set[0]!, ...members(1)])), 'BAD_CERTIFICATE', /not a member/);
    expectCode(() => check([a, b], 5), 'BAD_CERTIFICATE', /epoch: expected 4/);
  });
});
