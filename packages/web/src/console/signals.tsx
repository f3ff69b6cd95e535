/**
 * Consent signals of the ecosystem, for the org: its evidence log of Global Privacy Control (every
 * GPC opt-out its node applied: when, what, the request id and route, the ledger transaction), and
 * the IAB GPP string for its ad stack from a customer's current choices.
 */
import type { EmittedGpp } from '@custos/sdk';
import { type FormEvent, useCallback, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { dateTime, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';
import { AgeBandForm } from './minors.js';

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;

export function SignalsPage({ d }: { d: OrgData }) {
  const load = useCallback((signal: AbortSignal) => d.api.gpcEvidence(d.org, {}, { signal }), [d]);
  const evidence = useAsync(load, [load]);
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="gpc-title">
        <h2 id="gpc-title">Global Privacy Control: evidence</h2>
        <p className="muted">
          Every GPC signal this node applied as an opt-out of sale and sharing, newest first. The request id ties a row
          to the node’s own request log; no IP address or user agent is kept.
        </p>
        <AsyncView state={evidence} loading="Reading the evidence log…">
          {({ evidence: rows }) =>
            rows.length === 0 ? (
              <Empty title="No GPC signal applied yet." />
            ) : (
              <div className="table-wrap">
                <table className="responsive">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Customer</th>
                      <th scope="col">Opted out of</th>
                      <th scope="col">Request</th>
                      <th scope="col">Ledger transaction</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((e) => (
                      <tr key={e.seq}>
                        <td data-label="When">{dateTime(e.at)}</td>
                        <td data-label="Customer">
                          <code title={e.subject}>{short(e.subject)}</code>
                        </td>
                        <td data-label="Opted out of">
                          {e.kinds.map((k) => (k === 'share' ? 'sharing' : k)).join(' and ')}
                        </td>
                        <td data-label="Request">
                          <code title={e.requestId}>{short(e.requestId, 8)}</code> on <code>{e.route}</code>
                        </td>
                        <td data-label="Ledger transaction">
                          <code title={e.txId}>{short(e.txId)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </AsyncView>
      </section>
      <GppForm d={d} />
      <AgeBandForm d={d} />
    </div>
  );
}

function GppForm({ d }: { d: OrgData }) {
  const id = useId();
  const subjects = [...new Set(d.records.map((r) => r.subject))];
  const [result, setResult] = useState<EmittedGpp>();
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const subject = String(new FormData(e.currentTarget).get('subject') ?? '').trim();
    setResult(undefined);
    setError(undefined);
    if (!DID_KEY.test(subject)) {
      setError('Enter the customer’s pseudonym towards this company: a did:key, like did:key:z6Mk…');
      return;
    }
    try {
      setResult(await d.api.emittedGpp(d.org, subject));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const yesNo = (b: boolean) => (b ? 'opted out' : 'not opted out');
  return (
    <section className="card" aria-labelledby="gpp-title">
      <h2 id="gpp-title">GPP string for your ad stack</h2>
      <p className="muted">
        The customer’s current choices as an IAB Global Privacy Platform string: the string your banner last recorded,
        with the choices changed since written in.
      </p>
      <form onSubmit={submit} className="form-narrow">
        <div className="field">
          <label htmlFor={`${id}-s`}>Customer pseudonym</label>
          <input id={`${id}-s`} name="subject" list={`${id}-l`} autoComplete="off" required />
          <datalist id={`${id}-l`}>
            {subjects.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </div>
        <button type="submit" className="btn btn-primary">
          Show the GPP string
        </button>
      </form>
      <div aria-live="polite" role="status">
        {error !== undefined && <Notice tone="danger">{error}</Notice>}
        {result !== undefined && (
          <div className="mt-4">
            <p>
              <code data-testid="gpp-string" className="break-all">
                {result.gpp}
              </code>
            </p>
            <p className="muted">
              Sections {result.sections.join(', ')}; sale {yesNo(result.choices.sale)}, sharing{' '}
              {yesNo(result.choices.share)}, targeted advertising {yesNo(result.choices.targeted)}, sensitive data{' '}
              {result.choices.sensitive ? 'limited' : 'not limited'}
              {result.choices.consented.length > 0 ? `; consents: ${result.choices.consented.join(', ')}` : ''}.{' '}
              {result.basedOn === null ? 'No GPP string was recorded for this customer.' : ''}
            </p>
            <p data-testid="age-band">
              Age band:{' '}
              {result.age === null
                ? 'not recorded (treated as an adult)'
                : `${result.age.band}, recorded by the ${result.age.by === 'org' ? 'org with its evidence' : 'customer'}${result.age.memberState === null ? '' : ` (member state ${result.age.memberState})`}${result.age.band === 'under13' || result.age.band === '13-15' ? ': no sale or sharing without the opt-in the ledger requires' : ''}`}
              .
            </p>
          </div>
        )}
      </div>
    </section>
  );
}
