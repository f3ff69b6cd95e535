/**
 * Building a cross-chain transaction: the plan first, then each party signs its own operation
 * bound to it (here a customer's wallet and an org, apart), then the body is assembled and checked.
 */
import { didFromPublicKey, nobleSigner } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import { XTX_BINDING_ARG, xtxIdOf } from '@custos/protocol/interop';
import { parseTx } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { assembleXtx, buildXtx, customerXtxOp, planXtx, signXtxOp, Wallet, xtxPrepareTx } from '../src/index.js';

const org = nobleSigner(new Uint8Array(32).fill(5));
const DAY = 86_400_000;

describe('cross-chain transactions', () => {
  it('are planned, signed by each party apart, and assembled', () => {
    const wallet = Wallet.create();
    const me = wallet.relationship('beta', 'insurer');
    const specs = {
      decisionChain: 'alpha',
      deadlineHeight: 120,
      ops: [
        {
          chainId: 'beta',
          type: 'consent.grant',
          signer: me.did,
          args: { org: 'insurer', expiresAt: Date.now() + DAY },
        },
        {
          chainId: 'alpha',
          type: 'data.erased',
          signer: didFromPublicKey(org.publicKey),
          args: { records: ['ab'.repeat(32)], reason: 'other' },
        },
      ],
    };
    const p = planXtx(specs);
    expect(p.plan.participants).toEqual(['alpha', 'beta']);
    // Each party signs on its own device; a wrong key is refused before anything is signed.
    expect(() => signXtxOp(p, 'beta', 0, org)).toThrow(/to be signed by/);
    const mine = signXtxOp(p, 'beta', 0, me.signer);
    const theirs = signXtxOp(p, 'alpha', 0, org);
    expect(mine.body.args[XTX_BINDING_ARG]).toBe(p.planHash);
    const { xtx, xtxId } = assembleXtx(p, { alpha: [theirs], beta: [mine] });
    expect(xtxId).toBe(xtxIdOf(xtx));
    const prepare = parseTx(xtxPrepareTx(xtx, 'beta', org));
    expect(prepare.tx.body).toMatchObject({ chainId: 'beta', type: 'xtx.prepare', args: { xtx } });
    // An operation of another plan does not fit in.
    const other = planXtx({ ...specs, nonce: new Uint8Array(16) });
    expect(other.planHash).not.toBe(p.planHash);
    const stray = { ...mine, body: { ...mine.body, args: { ...mine.body.args, [XTX_BINDING_ARG]: other.planHash } } };
    expect(() => assembleXtx(p, { alpha: [theirs], beta: [stray] })).toThrow(ProtocolError);
  });

  it('builds in one go when every key is at hand', () => {
    const wallet = Wallet.create();
    const { xtx, planHash } = buildXtx({
      decisionChain: 'beta',
      deadlineHeight: 9,
      ops: [
        customerXtxOp(wallet, 'alpha', 'bank', 'consent.withdraw', { org: 'bank' }),
        customerXtxOp(wallet, 'beta', 'insurer', 'consent.withdraw', { org: 'insurer' }),
        { chainId: 'beta', type: 'kv.put', args: { ns: 'n', key: 'k', value: 1 }, signer: org },
      ],
    });
    expect(xtx.ops.beta).toHaveLength(2);
    expect(xtx.ops.alpha![0]!.body.signer).toBe(wallet.relationship('alpha', 'bank').did);
    expect(xtx.ops.beta![1]!.body.args[XTX_BINDING_ARG]).toBe(planHash);
    expect(() =>
      buildXtx({
        decisionChain: 'beta',
        deadlineHeight: 9,
        ops: [{ chainId: 'beta', type: 'kv.put', args: { [XTX_BINDING_ARG]: 'x' }, signer: org }],
      }),
    ).toThrow(TypeError);
  });
});
