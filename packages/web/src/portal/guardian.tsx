/**
 * The parent's or guardian's page (`/portal/guardian`, GDPR Art. 8, CCPA 1798.120(c)): signed in
 * with their own wallet, they read their key to give the child, the terms of the child's request
 * (from the link's `#request=`) in words, approve them with their guardian key (the approval goes
 * back to the child as a link), and withdraw the consents they approved.
 */
import { didFromPublicKey } from '@custos/protocol/crypto';
import {
  approveParental,
  checkParentalRequest,
  decodeParental,
  encodeParental,
  GUARDIAN_RELATIONSHIP,
  guardianWithdrawTx,
  type ParentalRequest,
  type Wallet,
} from '@custos/sdk';
import { lowerLabels, orgName } from '@custos/sdk/views';
import { useId, useMemo, useState } from 'react';
import { client } from '../lib/api.js';
import { day } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Notice, PageHead } from '../ui/ui.js';
import { RefusedError } from './actions.js';
import type { PortalData } from './data.js';

function requestFromHash(): string {
  const m = /(?:^#|&)request=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  return m?.[1] ?? '';
}

function parse(code: string, chainId: string): { request?: ParentalRequest; error?: string } {
  if (code.trim() === '') return {};
  try {
    const request = checkParentalRequest(decodeParental(code));
    if (request.chainId !== chainId) return { error: `expected a request on this ledger (${chainId})` };
    if (request.expiresAt <= Date.now()) return { error: 'expected a request that has not expired: ask for a new one' };
    return { request };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function GuardianPage({ wallet, data }: { wallet: Wallet; data: PortalData }) {
  const id = useId();
  const chainId = data.ctx.trust.chainId;
  const signer = useMemo(() => wallet.relationship(chainId, GUARDIAN_RELATIONSHIP).signer, [wallet, chainId]);
  const key = didFromPublicKey(signer.publicKey);
  const [code, setCode] = useState(requestFromHash);
  const [approved, setApproved] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const [busy, setBusy] = useState(false);
  const { request, error } = parse(code, chainId);
  const name = request === undefined ? '' : orgName(data.ctx.trust, request.org);

  const approve = () => {
    if (request === undefined) return;
    const approval = approveParental(signer, request);
    setApproved(`${window.location.origin}/portal/company/${request.org}#approval=${encodeParental(approval)}`);
    setMessage({ tone: 'ok', text: 'Approved: send the link below back to your child.' });
  };
  const withdraw = async () => {
    if (request === undefined) return;
    setBusy(true);
    try {
      const r = await client.submitAndWait(guardianWithdrawTx(signer, chainId, request.org, request.subject));
      if (r.code !== 'OK') throw new RefusedError(r);
      setMessage({ tone: 'ok', text: `Withdrawn: ${name} may no longer rely on the consents you approved.` });
    } catch (e) {
      setMessage({ tone: 'danger', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHead
        title="Consent as a parent or guardian"
        crumbs={
          <>
            <Link href="/portal">Your data</Link> › Consent as a parent or guardian
          </>
        }
      >
        <p>
          A child under 13, or under the age of digital consent where they live, needs your consent before a company
          relies on theirs, sells or shares their data. You approve with your own wallet.
        </p>
      </PageHead>
      <div className="stack-lg">
        <div aria-live="polite" role="status">
          {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
        </div>
        <section className="card" aria-labelledby="gkey-title">
          <h2 id="gkey-title">Your key as a parent or guardian</h2>
          <p className="small">
            Give it to your child: they enter it in their portal, on the company’s page. Only consents signed with it
            count as yours.
          </p>
          <p>
            <code className="break-all" data-testid="guardian-key">
              {key}
            </code>
          </p>
        </section>
        <section className="card" aria-labelledby="greq-title">
          <h2 id="greq-title">Your child’s request</h2>
          <div className="field">
            <label htmlFor={`${id}-code`}>The request from your child’s link</label>
            <textarea
              id={`${id}-code`}
              rows={3}
              value={code}
              maxLength={12_000}
              spellCheck={false}
              aria-invalid={error !== undefined}
              aria-describedby={error === undefined ? undefined : `${id}-err`}
              onChange={(e) => {
                setCode(e.target.value);
                setApproved(undefined);
              }}
            />
          </div>
          {error !== undefined && (
            <p id={`${id}-err`} className="field-error">
              {error}
            </p>
          )}
          {request !== undefined && (
            <>
              <p data-testid="guardian-terms">
                {name} asks to use your child’s {lowerLabels(request.categories)} for {lowerLabels(request.purposes)}{' '}
                until {day(request.expiresAt)}
                {request.share
                  ? `, and to share it${request.sale ? ' or sell it' : ''}`
                  : ', without selling or sharing it'}
                .
              </p>
              <div className="row">
                <button type="button" className="btn" disabled={busy} onClick={approve}>
                  Approve with my wallet
                </button>
                <button type="button" className="btn btn-danger" disabled={busy} onClick={withdraw}>
                  {busy ? 'Withdrawing…' : `Withdraw what I approved at ${name}`}
                </button>
              </div>
            </>
          )}
          {approved !== undefined && (
            <div className="field">
              <label htmlFor={`${id}-back`}>Send this link back to your child</label>
              <input id={`${id}-back`} readOnly value={approved} onFocus={(e) => e.target.select()} />
            </div>
          )}
        </section>
      </div>
    </>
  );
}
