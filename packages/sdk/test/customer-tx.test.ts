import { nobleVerifier } from '@custos/protocol/crypto';
import { parseTx, verifyTxSignature } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { customerTx, Wallet } from '../src/index.js';

describe('customer transactions', () => {
  it('are signed with a different pseudonym per org, each verifying', () => {
    const w = Wallet.create();
    const a = customerTx(w, 'demo', 'bank', 'consent.withdraw', { org: 'bank' });
    const b = customerTx(w, 'demo', 'insurer', 'consent.withdraw', { org: 'insurer' });
    expect(a.body.signer).not.toBe(b.body.signer);
    expect(verifyTxSignature(parseTx(a), nobleVerifier)).toBe(true);
    expect(verifyTxSignature(parseTx(b), nobleVerifier)).toBe(true);
    expect(w.findByDid(a.body.signer)?.orgId).toBe('bank');
  });
});
