/**
 * Checkpoints and quorum certificates: a certificate verifies with a quorum of distinct members,
 * and is rejected (BAD_CERTIFICATE, or BAD_CHECKPOINT for a malformed checkpoint) for every way
 * it can be short, forged, replayed or malformed.
 */

import { codeChecker } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../src/b64.js';
import { toHex } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier, type Signer } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { canonicalBytes, canonicalize } from '../src/jcs.js';
import { type BlockHeader, ZERO_HASH } from '../src/ledger/block.js';
import {
  CHECKPOINT_DOMAIN,
  type Checkpoint,
  type CheckpointSignature,
  checkCheckpointShape,
  checkpointOf,
  checkpointSigningBytes,
  MAX_CERTIFICATE_SIGNATURES,
  type MemberSet,
  majority,
  type QuorumCertificate,
  signCheckpoint,
  verifyQuorumCertificate,
} from '../src/ledger/checkpoint.js';

const key = (n: number): Signer => nobleSigner(new Uint8Array(32).fill(n));
const did = (s: Signer): string => didFromPublicKey(s.publicKey);

// Four members; acme has two keys (for rotation). Quorum: 3 of 4.
const acme1 = key(11);
const acme2 = key(12);
const bank = key(21);
const clinic = key(31);
const depot = key(41);
const outsider = key(99);

const members: MemberSet = {
  members: [
    { id: 'acme', keys: [did(acme1), did(acme2)] },
    { id: 'bank', keys: [did(bank)] },
    { id: 'clinic', keys: [did(clinic)] },
    { id: 'depot', keys: [did(depot)] },
  ],
  threshold: majority(4),
};

const checkpoint: Checkpoint = {
  chainId: 'custos-test',
  height: 42,
  logSize: 1000,
  logRoot: '11'.repeat(32),
  stateRoot: '22'.repeat(32),
};

function cert(signers: Signer[], cp: Checkpoint = checkpoint): QuorumCertificate {
  return { checkpoint: cp, signatures: signers.map((s) => signCheckpoint(cp, s)) };
}

const expectCode = codeChecker(ProtocolError);

const verify = (qc: unknown, chainId?: string) => verifyQuorumCertificate(qc, members, nobleVerifier, chainId);
const rejected = (qc: unknown, message?: RegExp, chainId?: string) =>
  expectCode(() => verify(qc, chainId), 'BAD_CERTIFICATE', message);

describe('checkpoints', () => {
  it('checkpointOf takes the five checkpoint fields of a header', () => {
    const header: BlockHeader = {
      ...checkpoint,
      prevHash: ZERO_HASH,
      time: 1,
      proposer: did(bank),
      txCount: 0,
    };
    expect(checkpointOf(header)).toEqual(checkpoint);
  });

  it('signing bytes are the canonical checkpoint with the domain tag, and nothing else', () => {
    const withExtra = { ...checkpoint, time: 5 } as Checkpoint;
    expect(new TextDecoder().decode(checkpointSigningBytes(withExtra))).toBe(
      canonicalize({ ...checkpoint, domain: CHECKPOINT_DOMAIN }),
    );
    expect(CHECKPOINT_DOMAIN).toBe('custos/checkpoint/v1');
  });

  it('majority is more than half', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('checkCheckpointShape rejects malformed checkpoints with BAD_CHECKPOINT', () => {
    expect(() => checkCheckpointShape(checkpoint)).not.toThrow();
    const bad: unknown[] = [
      null,
      'cp',
      { ...checkpoint, chainId: '' },
      { ...checkpoint, chainId: 'c'.repeat(65) },
      { ...checkpoint, chainId: 7 },
      { ...checkpoint, height: -1 },
      { ...checkpoint, height: 1.5 },
      { ...checkpoint, logSize: '1000' },
      { ...checkpoint, logSize: 2 ** 53 },
      { ...checkpoint, logRoot: 'AA'.repeat(32) },
      { ...checkpoint, stateRoot: '22'.repeat(31) },
      { chainId: 'custos-test' },
    ];
    for (const cp of bad) expectCode(() => checkCheckpointShape(cp), 'BAD_CHECKPOINT');
  });
});

describe('verifyQuorumCertificate accepts', () => {
  it('signatures of exactly a quorum of members', () => {
    expect(() => verify(cert([acme1, bank, clinic]))).not.toThrow();
    expect(() => verify(cert([bank, clinic, depot]))).not.toThrow();
    expect(() => verify(cert([acme2, clinic, depot]), 'custos-test')).not.toThrow();
  });

  it('signatures of every member, in any order', () => {
    expect(() => verify(cert([depot, clinic, bank, acme1]))).not.toThrow();
  });

  it('a certificate that went through JSON', () => {
    expect(() => verify(JSON.parse(JSON.stringify(cert([acme1, bank, clinic]))))).not.toThrow();
  });

  it('with a threshold of one', () => {
    const solo: MemberSet = { members: [{ id: 'solo', keys: [did(bank)] }], threshold: 1 };
    expect(() => verifyQuorumCertificate(cert([bank]), solo, nobleVerifier)).not.toThrow();
  });
});

describe('verifyQuorumCertificate rejects with BAD_CERTIFICATE', () => {
  it('too few signatures', () => {
    rejected(cert([]), /at least 3 members, got 0/);
    rejected(cert([bank]), /at least 3 members, got 1/);
    rejected(cert([bank, clinic]), /at least 3 members, got 2/);
  });

  it('the same key twice', () => {
    rejected(cert([bank, bank, clinic]), /member 'bank' signed more than once/);
    rejected(cert([bank, clinic, depot, bank]), /more than once/);
  });

  it('two keys of one member, which never count as two members', () => {
    rejected(cert([acme1, acme2, bank]));
    // Even next to a quorum of other members, a second signature by one member is refused.
    rejected(cert([acme1, acme2, bank, clinic]), /member 'acme' signed more than once/);
  });

  it('a signer that is not a member key', () => {
    rejected(cert([outsider, bank, clinic, depot]), /not a member key/);
    rejected(cert([bank, clinic, depot, outsider]), /not a member key/);
    // A member's key under a did that only differs in encoding is not that member.
    const sigs = cert([bank, clinic, depot]);
    const [first, ...rest] = sigs.signatures as [CheckpointSignature, ...CheckpointSignature[]];
    rejected({ ...sigs, signatures: [{ ...first, signer: `${first.signer} ` }, ...rest] }, /not a member key/);
    rejected({ ...sigs, signatures: [{ ...first, signer: toHex(bank.publicKey) }, ...rest] }, /not a member key/);
  });

  it('a checkpoint of another chain', () => {
    rejected(cert([acme1, bank, clinic]), /chain 'custos-prod'/, 'custos-prod');
    // Relabelling the chain breaks the signatures.
    const qc = cert([acme1, bank, clinic]);
    rejected({ ...qc, checkpoint: { ...qc.checkpoint, chainId: 'custos-prod' } }, /does not verify/, 'custos-prod');
  });

  it('any checkpoint field changed after signing', () => {
    const qc = cert([acme1, bank, clinic]);
    const tampered: Partial<Checkpoint>[] = [
      { chainId: 'custos-tesu' },
      { height: 43 },
      { height: 41 },
      { logSize: 1001 },
      { logRoot: '12'.repeat(32) },
      { stateRoot: '23'.repeat(32) },
    ];
    for (const change of tampered) {
      rejected({ ...qc, checkpoint: { ...checkpoint, ...change } }, /does not verify/);
    }
  });

  it('a bad signature', () => {
    const qc = cert([acme1, bank, clinic]);
    const [first, ...rest] = qc.signatures as [CheckpointSignature, ...CheckpointSignature[]];
    const withSig = (sig: string) => ({ ...qc, signatures: [{ ...first, sig }, ...rest] });
    const flipped = `${first.sig[0] === 'A' ? 'B' : 'A'}${first.sig.slice(1)}`;
    const otherCheckpoint = signCheckpoint({ ...checkpoint, height: 1 }, acme1).sig;
    const noDomain = toBase64url(acme1.sign(canonicalBytes(checkpoint)));
    for (const sig of [flipped, otherCheckpoint, noDomain, '', 'A'.repeat(85), 'A'.repeat(87), `${'!'.repeat(86)}`]) {
      rejected(withSig(sig), /signature of member 'acme' does not verify/);
    }
    // Another member's valid signature under acme's key.
    rejected(withSig((rest[0] as CheckpointSignature).sig), /does not verify/);
  });

  it('more than 256 signatures, before verifying any', () => {
    expect(MAX_CERTIFICATE_SIGNATURES).toBe(256);
    const one = signCheckpoint(checkpoint, bank);
    rejected({ checkpoint, signatures: Array(257).fill(one) }, /at most 256/);
    // 256 is not refused for its size (here it fails as duplicates instead).
    rejected({ checkpoint, signatures: Array(256).fill(one) }, /more than once/);
  });

  it('malformed certificates and signature entries', () => {
    const qc = cert([acme1, bank, clinic]);
    for (const bad of [null, undefined, 'qc', 5]) rejected(bad, /certificate object/);
    for (const signatures of [undefined, null, 'sigs', {}, { length: 3 }]) {
      rejected({ checkpoint, signatures }, /signatures as an array/);
    }
    for (const entry of [null, 1, 'sig', [], {}, { signer: did(bank) }, { sig: qc.signatures[1]?.sig }]) {
      rejected({ checkpoint, signatures: [...qc.signatures, entry] }, /\{signer, sig\}/);
    }
    rejected({ checkpoint, signatures: [{ signer: 5, sig: 'x' }] }, /\{signer, sig\}/);
  });

  it('a member set with a threshold that is not a positive integer', () => {
    for (const threshold of [0, -1, 1.5, Number.NaN]) {
      expectCode(
        () => verifyQuorumCertificate(cert([acme1, bank, clinic]), { ...members, threshold }, nobleVerifier),
        'BAD_CERTIFICATE',
        /positive threshold/,
      );
    }
  });
});

describe('verifyQuorumCertificate rejects a malformed checkpoint with BAD_CHECKPOINT', () => {
  it('missing or ill-typed fields', () => {
    const qc = cert([acme1, bank, clinic]);
    for (const cp of [undefined, null, {}, { ...checkpoint, height: '42' }, { ...checkpoint, logRoot: 'x' }]) {
      expectCode(() => verify({ ...qc, checkpoint: cp }), 'BAD_CHECKPOINT');
    }
    // An array or an object without a checkpoint has no checkpoint to check.
    expectCode(() => verify([]), 'BAD_CHECKPOINT');
    expectCode(() => verify({ signatures: qc.signatures }), 'BAD_CHECKPOINT');
  });
});

describe('verifyQuorumCertificate properties', () => {
  it('throws nothing but BAD_CERTIFICATE or BAD_CHECKPOINT on arbitrary and mutated input', () => {
    const valid = JSON.parse(JSON.stringify(cert([acme1, bank, clinic])));
    const check = (qc: unknown) => {
      try {
        verify(qc);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        expect(['BAD_CERTIFICATE', 'BAD_CHECKPOINT']).toContain((e as ProtocolError).code);
      }
    };
    fc.assert(fc.property(fc.anything(), check), { numRuns: 300 });
    const path = fc.constantFrom(
      ['checkpoint'],
      ['signatures'],
      ['checkpoint', 'chainId'],
      ['checkpoint', 'height'],
      ['checkpoint', 'logRoot'],
      ['signatures', '0'],
      ['signatures', '1', 'signer'],
      ['signatures', '2', 'sig'],
    );
    fc.assert(
      fc.property(path, fc.anything(), (p, value) => {
        const qc = structuredClone(valid);
        let target = qc;
        for (const k of p.slice(0, -1)) target = target[k];
        target[p[p.length - 1] as string] = value;
        check(qc);
      }),
      { numRuns: 300 },
    );
  });
});
