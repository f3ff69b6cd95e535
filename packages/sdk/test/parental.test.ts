/**
 * The parent's-consent handoff (`parental.ts`): a request survives the code a link carries, the
 * parent's approval verifies over exactly those terms and no others, the child's grant carries it,
 * and a bad request or code is refused with what was expected.
 */
import { didFromPublicKey, nobleSigner, nobleVerifier, randomSecretKey } from '@custos/protocol/crypto';
import { verifyParentalConsent } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import {
  approveParental,
  checkParentalApproval,
  checkParentalRequest,
  decodeParental,
  encodeParental,
  guardianWithdrawTx,
  MAX_PARENTAL_BYTES,
  type ParentalRequest,
  parentalGrantTx,
} from '../src/index.js';

const child = nobleSigner(randomSecretKey());
const parent = nobleSigner(randomSecretKey());
const request: ParentalRequest = {
  chainId: 'demo',
  org: 'bank',
  subject: didFromPublicKey(child.publicKey),
  purposes: ['dpv:Marketing'],
  categories: ['pd:EmailAddress'],
  expiresAt: 1_900_000_000_000,
  share: true,
  sale: false,
  jurisdiction: 'CCPA',
  notice: 'ab'.repeat(32),
};
const terms = ({ jurisdiction: _j, notice: _n, explicit: _e, ...t }: ParentalRequest) => t;

describe('the parental consent handoff', () => {
  it('the code round-trips, and the approval verifies over these terms only', () => {
    const back = checkParentalRequest(decodeParental(encodeParental(request)));
    expect(back).toEqual(request);
    const approval = checkParentalApproval(decodeParental(encodeParental(approveParental(parent, back))));
    expect(approval.parental.guardian).toBe(didFromPublicKey(parent.publicKey));
    const sig = approval.parental.signature;
    expect(verifyParentalConsent(terms(request), approval.parental.guardian, sig, nobleVerifier)).toBe(true);
    expect(
      verifyParentalConsent({ ...terms(request), sale: true }, approval.parental.guardian, sig, nobleVerifier),
    ).toBe(false);
  });

  it("the child's grant carries the approval, and only the child's own key can send it", () => {
    const approval = approveParental(parent, request);
    const tx = parentalGrantTx(child, approval);
    expect(tx.body).toMatchObject({
      type: 'consent.grant',
      signer: request.subject,
      args: { org: 'bank', expiresAt: request.expiresAt, share: true, sale: false, parental: approval.parental },
    });
    expect(() => parentalGrantTx(parent, approval)).toThrow(/made by this wallet/);
    const w = guardianWithdrawTx(parent, 'demo', 'bank', request.subject);
    expect(w.body).toMatchObject({ type: 'consent.withdraw', args: { org: 'bank', subject: request.subject } });
  });

  it('refuses a bad request or code, saying what was expected', () => {
    expect(() => checkParentalRequest({ ...request, purposes: ['buy-everything'] })).toThrow(
      /expected each of purposes as a DPV code/,
    );
    expect(() => checkParentalRequest({ ...request, subject: 'did:key:nope' })).toThrow(/did:key/);
    expect(() => checkParentalRequest({ ...request, extra: 1 })).toThrow(/no field 'extra'/);
    expect(() => checkParentalRequest({ ...request, jurisdiction: 'LGPD' })).toThrow(
      /jurisdiction as one of GDPR, CCPA/,
    );
    expect(() => checkParentalApproval({ request, parental: { guardian: 'mum', signature: 'x' } })).toThrow(
      /parental.guardian/,
    );
    expect(() => decodeParental('not base64!')).toThrow(/expected the code as it was given to you/);
    expect(() => decodeParental('A'.repeat(MAX_PARENTAL_BYTES * 2))).toThrow(/expected a code of at most/);
  });
});
