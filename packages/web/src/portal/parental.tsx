/**
 * A child's side of a parent's consent (GDPR Art. 8, CCPA 1798.120(c); docs/customer-data.md,
 * "Children"): what the age band blocks until a parent or guardian consents, the parent's key,
 * a link asking them to approve a consent's terms in their own wallet (`/portal/guardian`), and
 * the approval they hand back, recorded as `consent.grant` with their signature.
 */
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import { belowArt8Age } from '@custos/protocol/ledger';
import {
  checkParentalApproval,
  decodeParental,
  encodeParental,
  type ParentalRequest,
  parentalGrantTx,
  type Wallet,
} from '@custos/sdk';
import { lowerLabels } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { client } from '../lib/api.js';
import { day } from '../lib/format.js';
import { Badge, Notice } from '../ui/ui.js';
import { CONSENT_DAYS, consentNotice, jurisdictionOf, RefusedError, setGuardian } from './actions.js';
import { type OrgView, purposeToggles } from './model.js';

const DAY = 86_400_000;

/** The company page's one-action-at-a-time runner. */
interface PortalAction {
  busy: string | undefined;
  run: (key: string, done: string, fn: () => Promise<void>) => Promise<void>;
}

/** The approval code a parent's link carries back (`#approval=`), if any. */
function approvalFromHash(): string {
  const m = /(?:^#|&)approval=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  return m?.[1] ?? '';
}

/** What the band blocks until a parent or guardian consents, or undefined when nothing needs one. */
export function parentalNeed(v: OrgView): string | undefined {
  const age = v.prefs.age;
  if (age === undefined) return undefined;
  if (age.band === 'under13') {
    return `You are under 13: ${v.name} may not rely on your consent, sell or share your data unless a parent or guardian consents too.`;
  }
  if (belowArt8Age(age.band, age.memberState)) {
    return `You are under the age of digital consent${age.memberState === undefined ? '' : ` in ${age.memberState}`}: where ${v.name} relies on your consent, a parent’s or guardian’s consent is needed too.`;
  }
  return undefined;
}

export function ParentalSection({
  v,
  wallet,
  chainId,
  action,
}: {
  v: OrgView;
  wallet: Wallet;
  chainId: string;
  action: PortalAction;
}) {
  const id = useId();
  const need = parentalNeed(v);
  const age = v.prefs.age;
  const [key, setKey] = useState('');
  const toggles = purposeToggles(v);
  const [purpose, setPurpose] = useState(toggles[0]?.purpose ?? '');
  const [link, setLink] = useState<string>();
  const [approval, setApproval] = useState(approvalFromHash);
  const [error, setError] = useState<string>();
  const given = v.consents.filter((c) => c.parental !== undefined);
  if (need === undefined || age === undefined) return null;

  const ask = () => {
    const t = toggles.find((x) => x.purpose === purpose);
    if (t === undefined) return;
    const expiresAt = Date.now() + CONSENT_DAYS * DAY;
    const categories = t.categories.length > 0 ? t.categories : ['pd:EmailAddress'];
    const request: ParentalRequest = {
      chainId,
      org: v.org,
      subject: v.did,
      purposes: [t.purpose],
      categories,
      expiresAt,
      share: false,
      sale: false,
      jurisdiction: jurisdictionOf(v),
      notice: toHex(sha256(utf8(consentNotice(v.name, categories, t.purpose, expiresAt, t.automated)))),
      ...(t.automated ? { explicit: true as const } : {}),
    };
    // In the fragment: never sent to a server, so no log holds the child's pseudonym.
    setLink(`${window.location.origin}/portal/guardian#request=${encodeParental(request)}`);
  };
  const record = () => {
    let tx: ReturnType<typeof parentalGrantTx>;
    try {
      const a = checkParentalApproval(decodeParental(approval));
      if (a.request.org !== v.org || a.request.chainId !== chainId) {
        throw new Error(`expected an approval of a request to ${v.name} on this ledger`);
      }
      tx = parentalGrantTx(wallet.relationship(chainId, v.org).signer, a);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setError(undefined);
    return action.run('parental', 'Saved: your consent, with your parent’s or guardian’s, is recorded.', async () => {
      const r = await client.submitAndWait(tx);
      if (r.code !== 'OK') throw new RefusedError(r);
      setApproval('');
      setLink(undefined);
    });
  };

  return (
    <div data-testid="parental">
      <h3 className="mt-5">A parent’s consent</h3>
      <Notice tone="warn" title="A parent’s or guardian’s consent is required">
        <p>{need}</p>
      </Notice>
      {given.length > 0 && (
        <ul className="plain-list item-list" aria-label="Consents your parent or guardian gave">
          {given.map((c) => (
            <li key={c.id} className="fact-line row">
              <Badge tone={c.state === 'live' ? 'ok' : 'neutral'}>
                {c.state === 'live' ? 'Parent’s consent given' : c.state === 'withdrawn' ? 'Withdrawn' : 'Expired'}
              </Badge>
              <span className="small">
                Your {lowerLabels(c.categories)} for {lowerLabels(c.purposes)},{' '}
                {c.state === 'live' ? `until ${day(c.expiresAt)}` : `given ${day(c.grantedAt)}`}
              </span>
            </li>
          ))}
        </ul>
      )}
      {age.guardian === undefined ? (
        <>
          <p className="small">
            First, enter your parent’s or guardian’s key. They find it in their own wallet, on the page “Consent as a
            parent or guardian”.
          </p>
          <div className="field">
            <label htmlFor={`${id}-key`}>Your parent’s or guardian’s key</label>
            <input
              id={`${id}-key`}
              value={key}
              maxLength={128}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => setKey(e.target.value.trim())}
            />
          </div>
          <button
            type="button"
            className="btn"
            disabled={action.busy !== undefined || !key.startsWith('did:key:')}
            onClick={() =>
              action.run('guardian', 'Saved: your parent’s or guardian’s key.', () =>
                setGuardian(wallet, chainId, v.org, age.band, key),
              )
            }
          >
            {action.busy === 'guardian' ? 'Saving…' : 'Save their key'}
          </button>
        </>
      ) : (
        <>
          <p className="small">
            Your parent’s or guardian’s key: <code className="break-all">{age.guardian}</code>
          </p>
          {toggles.length === 0 ? (
            <p className="muted small">{v.name} asks for no consent at the moment.</p>
          ) : (
            <>
              <div className="field w-narrow">
                <label htmlFor={`${id}-purpose`}>Ask them to consent to</label>
                <select id={`${id}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value)}>
                  {toggles.map((t) => (
                    <option key={t.purpose} value={t.purpose}>
                      Your {lowerLabels(t.categories)} for {t.label.toLowerCase()}
                    </option>
                  ))}
                </select>
              </div>
              <button type="button" className="btn" disabled={action.busy !== undefined} onClick={ask}>
                Ask my parent or guardian
              </button>
            </>
          )}
          {link !== undefined && (
            <div className="field">
              <label htmlFor={`${id}-link`}>Send this link to your parent or guardian</label>
              <input id={`${id}-link`} readOnly value={link} onFocus={(e) => e.target.select()} />
            </div>
          )}
          <div className="field">
            <label htmlFor={`${id}-approval`}>The approval code they send back</label>
            <textarea
              id={`${id}-approval`}
              rows={3}
              value={approval}
              maxLength={12_000}
              spellCheck={false}
              aria-invalid={error !== undefined}
              aria-describedby={error === undefined ? undefined : `${id}-err`}
              onChange={(e) => setApproval(e.target.value)}
            />
          </div>
          {error !== undefined && (
            <p id={`${id}-err`} className="field-error">
              {error}
            </p>
          )}
          <button
            type="button"
            className="btn"
            disabled={action.busy !== undefined || approval.trim() === ''}
            onClick={record}
          >
            {action.busy === 'parental' ? 'Recording…' : 'Record the consent'}
          </button>
        </>
      )}
    </div>
  );
}
