/**
 * Children, for the org (GDPR Art. 8, CCPA 1798.120(c)): record the age band it verified for a
 * customer (`age.set` signed by the org, with how it verified and the SHA-256 of its evidence,
 * computed in the browser: the evidence never leaves it), and see what the ledger blocks for that
 * customer because of the band.
 */
import { AGE_BANDS, AGE_EVIDENCE, type AgeBand, ART8_AGES, art8Age, belowArt8Age } from '@custos/protocol/ledger';
import type { EmittedGpp } from '@custos/sdk';
import { type FormEvent, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
/** Evidence kept by the org (a scan, a signed form): hashed here, at most 20 MiB read. */
const MAX_EVIDENCE_BYTES = 20 * 1024 * 1024;

const BAND_TEXT: Record<AgeBand, string> = {
  under13: 'Under 13',
  '13-15': '13 to 15',
  '16-17': '16 or 17',
  adult: '18 or older',
};

/** What the ledger refuses for a customer of this band, in words. */
export function blockedFor(band: AgeBand, memberState: string | null): string[] {
  const state = memberState ?? undefined;
  const out: string[] = [];
  if (band === 'under13') {
    out.push('Sale and sharing: refused unless a parent or guardian consented (CCPA 1798.120(c)).');
  } else if (band === '13-15') {
    out.push('Sale and sharing: refused unless the customer opted in after the band was recorded (CCPA 1798.120(c)).');
  }
  if (belowArt8Age(band, state)) {
    out.push(
      `Uses on consent under GDPR: refused unless a parent or guardian consented (Art. 8, age ${art8Age(state)}${state === undefined ? '' : ` in ${state}`}).`,
    );
  }
  if (out.length === 0) out.push('Nothing: the rules for adults apply.');
  return out;
}

async function sha256Hex(file: File): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function AgeBandForm({ d }: { d: OrgData }) {
  const id = useId();
  const subjects = [...new Set(d.records.map((r) => r.subject))];
  const [age, setAge] = useState<EmittedGpp['age']>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);

  const lookUp = async (subject: string) => setAge((await d.api.emittedGpp(d.org, subject)).age);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const subject = String(form.get('subject') ?? '').trim();
    const band = String(form.get('band') ?? '') as AgeBand;
    const memberState = String(form.get('memberState') ?? '');
    const method = String(form.get('method') ?? '');
    const file = form.get('evidence');
    const record = (e.nativeEvent as SubmitEvent).submitter?.getAttribute('name') === 'record';
    setError(undefined);
    setSaved(undefined);
    if (!DID_KEY.test(subject)) {
      setError('Enter the customer’s pseudonym towards this company: a did:key, like did:key:z6Mk…');
      return;
    }
    setBusy(true);
    try {
      if (record) {
        if (!(file instanceof File) || file.size === 0 || file.size > MAX_EVIDENCE_BYTES) {
          throw new Error(
            'Choose the evidence you keep of the check (a file of at most 20 MiB): only its SHA-256 is recorded.',
          );
        }
        const r = await d.api.recordAge(d.org, {
          subject,
          band,
          ...(memberState === '' ? {} : { memberState }),
          evidence: { method: method as (typeof AGE_EVIDENCE)[number], digest: await sha256Hex(file) },
        });
        if (r.code !== 'OK') throw new Error(`The ledger refused it: ${r.code}`);
        setSaved(`Recorded: the band ${BAND_TEXT[band].toLowerCase()} (block ${r.height}).`);
      }
      await lookUp(subject);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Children: age bands</h2>
      <p className="muted">
        Record the age band you verified for a customer, never a birth date: only how you checked and the SHA-256 of the
        evidence you keep go on the ledger. The ledger then refuses what the band does not allow.
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
        <div className="field">
          <label htmlFor={`${id}-b`}>Age band</label>
          <select id={`${id}-b`} name="band" defaultValue="under13">
            {AGE_BANDS.map((b) => (
              <option key={b} value={b}>
                {BAND_TEXT[b]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-m`}>EU member state (age of digital consent)</label>
          <select id={`${id}-m`} name="memberState" defaultValue="">
            <option value="">Not named (16)</option>
            {Object.entries(ART8_AGES).map(([c, a]) => (
              <option key={c} value={c}>
                {c} ({a})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-v`}>How you verified it</label>
          <select id={`${id}-v`} name="method" defaultValue="id-document">
            {AGE_EVIDENCE.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-e`}>Your evidence (hashed in this browser)</label>
          <input id={`${id}-e`} name="evidence" type="file" />
        </div>
        <div className="row">
          <button type="submit" name="record" className="btn btn-primary" disabled={busy}>
            {busy ? 'Recording…' : 'Record the age band'}
          </button>
          <button type="submit" name="show" className="btn" disabled={busy}>
            Show what is blocked
          </button>
        </div>
      </form>
      <div aria-live="polite" role="status">
        {error !== undefined && <Notice tone="danger">{error}</Notice>}
        {saved !== undefined && <Notice tone="ok">{saved}</Notice>}
        {age !== undefined && (
          <div className="mt-4" data-testid="minor-blocks">
            <p>
              {age === null
                ? 'No age band recorded: the customer is treated as an adult.'
                : `Age band ${BAND_TEXT[age.band].toLowerCase()}, recorded by the ${age.by === 'org' ? 'company with its evidence' : 'customer'}${age.memberState === null ? '' : `, member state ${age.memberState}`}.`}
            </p>
            {age !== null && (
              <ul aria-label="What the ledger refuses for this customer">
                {blockedFor(age.band, age.memberState).map((t) => (
                  <li key={t}>{t}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
