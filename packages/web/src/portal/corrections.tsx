/**
 * The customer as the source of their data (issue 17, ADR 0018): change a fact once and send it,
 * sealed with HPKE in this browser, to each company that holds it and that the customer chooses, each
 * under the private ID for that company; see who has applied it and who has not, with the legal
 * deadline, and in how many of the company's systems holding it the change was made ("Corrected in 2
 * of 3 systems", each system's `rectify.step`); and flag a record as wrong with a reason. Everything
 * shown comes from the verified reports (`rectify/<org>/...` facts and the proven events).
 */
import { labelOf } from '@custos/protocol/consent';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type CorrectionTarget,
  correctionTargets,
  FLAG_REASONS,
  type FlagReason,
  flagRecord,
  type Jurisdiction,
  type Rectification,
  sendCorrections,
  type Wallet,
} from '@custos/sdk';
import { type CorrectionEvidence, correctionEvidence, stepText } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { client } from '../lib/api.js';
import { dateTime, day, daysUntil, list, plural } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge, Notice, PageHead } from '../ui/ui.js';
import type { PortalData } from './data.js';

const FLAG_TEXT: Record<FlagReason, string> = {
  inaccurate: 'It is wrong',
  incomplete: 'Something is missing',
  outdated: 'It is out of date',
  'not-mine': 'It is not about me',
};

const EXPLAIN_TEXT: Record<string, string> = {
  'accurate-verified': 'they checked it and say it is accurate',
  'identity-not-verified': 'they could not verify it was you',
  'legal-obligation': 'the law requires them to keep it as it was',
  'manifestly-unfounded': 'they consider the request manifestly unfounded',
  excessive: 'they consider the request excessive',
};

/** Bound on what the customer types: the SDK refuses more than 8 KiB once sealed. */
const MAX_VALUE_CHARS = 2000;

interface Item extends Rectification {
  name: string;
  category: string;
  /** Applied and carried into the company's systems: their proven steps. */
  evidence: CorrectionEvidence | undefined;
}

/** Every correction and flag of the customer, from the verified facts of each relationship. */
function itemsOf(data: PortalData): Item[] {
  const out: Item[] = [];
  for (const o of data.orgs) {
    const v = o.view;
    if (v === undefined) continue;
    for (const f of v.history.facts) {
      if (!f.key.startsWith(`rectify/${o.org}/`) || f.value === null) continue;
      const r = f.value as unknown as Rectification;
      const rec = v.records.find((x) => x.id === r.record);
      out.push({ ...r, name: o.name, category: rec?.category ?? '', evidence: correctionEvidence(r, v.events) });
    }
  }
  return out.sort((a, b) => b.openedAt - a.openedAt);
}

function Status({ r, now }: { r: Item; now: number }) {
  if (r.status === 'applied') return <Badge tone="ok">Applied {day(r.closedAt ?? 0)}</Badge>;
  if (r.status === 'explained') {
    return <Badge tone="warn">Kept as it was: {EXPLAIN_TEXT[r.answer ?? ''] ?? r.answer}</Badge>;
  }
  const left = daysUntil(r.deadline, now);
  return left < 0 ? (
    <Badge tone="danger">Not applied, overdue since {day(r.deadline)}</Badge>
  ) : (
    <Badge tone="neutral">
      Not applied yet: due by {day(r.deadline)} ({plural(left, 'day', 'days')} left)
    </Badge>
  );
}

/** "Corrected in 2 of 3 systems", then each system's proven step. */
function Systems({ e }: { e: CorrectionEvidence }) {
  return (
    <div className="evidence" data-testid="correction-systems">
      <p className="fact-line row">
        <strong>{e.summary}</strong>
        {e.complete === e.total && <Badge tone="ok">Proven on the ledger</Badge>}
      </p>
      <ul className="plain-list evidence-steps">
        {e.steps.map((s) => (
          <li key={s.system} data-system={s.system}>
            <p className="fact-line">
              <strong>{s.system}</strong>: {stepText(s)}, {dateTime(s.at)}
            </p>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function CorrectionsPage({ wallet, data, reload }: { wallet: Wallet; data: PortalData; reload: () => void }) {
  const id = useId();
  const chainId = data.ctx.trust.chainId;
  const names = new Map(data.orgs.map((o) => [o.org, o.name]));
  const records = data.orgs.flatMap((o) => o.view?.records ?? []).filter((r) => r.state !== 'erased');
  const categories = [...new Set(records.map((r) => r.category))];
  const [category, setCategory] = useState(categories[0] ?? '');
  const targets = correctionTargets(records, category);
  const [unchosen, setUnchosen] = useState<Set<string>>(new Set());
  const [value, setValue] = useState('');
  const [jurisdiction, setJurisdiction] = useState<Jurisdiction>('GDPR');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string } | undefined>();
  const [flagTarget, setFlagTarget] = useState(records[0] === undefined ? '' : `${records[0].org}:${records[0].id}`);
  const [flagReason, setFlagReason] = useState<FlagReason>('inaccurate');
  const chosen = targets.filter((t) => !unchosen.has(t.org));
  const items = itemsOf(data);
  const now = Date.now();

  const run = async (fn: () => Promise<string>) => {
    setBusy(true);
    setMessage(undefined);
    try {
      setMessage({ tone: 'ok', text: await fn() });
      reload();
    } catch (e) {
      setMessage({ tone: 'danger', text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  const send = () =>
    run(async () => {
      const text = value.trim();
      if (text.length === 0) throw new Error('Type the new value first.');
      const sealed: JsonValue = { value: text };
      // Each company's key is checked against the members this browser trusts before sealing to it.
      const out = await sendCorrections(client, wallet, {
        chainId,
        targets: chosen,
        value: sealed,
        jurisdiction,
        trust: data.ctx.trust,
      });
      const applied = out.filter((o) => (o.applied as { code?: string } | undefined)?.code === 'OK');
      const failed = out.filter((o) => o.sent !== 'OK');
      if (failed.length > 0) {
        throw new Error(`Refused by the ledger at ${list(failed.map((o) => names.get(o.org) ?? o.org))}.`);
      }
      setValue('');
      return `Sent to ${list(out.map((o) => names.get(o.org) ?? o.org))}; applied by ${applied.length} of ${out.length} so far.`;
    });

  const flag = () =>
    run(async () => {
      const [org, record] = flagTarget.split(':') as [string, string];
      const r = await flagRecord(client, wallet, { chainId, org, record, reason: flagReason, jurisdiction });
      if (r.code !== 'OK') throw new Error(`The ledger refused it (${r.code}).`);
      return `Flagged: ${names.get(org) ?? org} must correct it or explain why not.`;
    });

  return (
    <>
      <PageHead
        title="Update your data"
        crumbs={
          <>
            <Link href="/portal">Your data</Link> › Update your data
          </>
        }
      >
        <p>
          Change something once, and every company you choose gets it. It is locked in this browser for each company
          separately, under your private ID for that company: no company learns that you told another.
        </p>
      </PageHead>
      <div className="stack-lg">
        {message !== undefined && (
          <Notice tone={message.tone === 'ok' ? 'ok' : 'danger'} title={message.tone === 'ok' ? 'Done' : 'Not sent'}>
            <p role="status">{message.text}</p>
          </Notice>
        )}
        <section className="card" aria-labelledby={`${id}-send`}>
          <h2 id={`${id}-send`}>Change a fact</h2>
          {categories.length === 0 ? (
            <p className="muted">No company holds data about you that you could update.</p>
          ) : (
            <form
              className="stack"
              onSubmit={(e) => {
                e.preventDefault();
                void send();
              }}
            >
              <label htmlFor={`${id}-cat`}>What changed</label>
              <select
                id={`${id}-cat`}
                value={category}
                onChange={(e) => {
                  setCategory(e.currentTarget.value);
                  setUnchosen(new Set());
                }}
              >
                {categories.map((c) => (
                  <option key={c} value={c}>
                    {labelOf(c)}
                  </option>
                ))}
              </select>
              <label htmlFor={`${id}-value`}>The new value</label>
              <input
                id={`${id}-value`}
                type="text"
                maxLength={MAX_VALUE_CHARS}
                autoComplete="off"
                value={value}
                onChange={(e) => setValue(e.currentTarget.value)}
              />
              <fieldset>
                <legend>Send it to</legend>
                {targets.map((t: CorrectionTarget) => (
                  <label key={t.org} className="row">
                    <input
                      type="checkbox"
                      checked={!unchosen.has(t.org)}
                      onChange={(e) => {
                        const next = new Set(unchosen);
                        if (e.currentTarget.checked) next.delete(t.org);
                        else next.add(t.org);
                        setUnchosen(next);
                      }}
                    />
                    {names.get(t.org) ?? t.org}
                  </label>
                ))}
              </fieldset>
              <label htmlFor={`${id}-law`}>Under</label>
              <select
                id={`${id}-law`}
                value={jurisdiction}
                onChange={(e) => setJurisdiction(e.currentTarget.value as Jurisdiction)}
              >
                <option value="GDPR">GDPR (one month to apply it)</option>
                <option value="CCPA">CCPA (45 days to apply it)</option>
              </select>
              <div className="row">
                <button type="submit" className="btn btn-primary" disabled={busy || chosen.length === 0}>
                  {busy ? 'Sending…' : `Send to ${plural(chosen.length, 'company', 'companies')}`}
                </button>
              </div>
            </form>
          )}
        </section>

        <section className="card" aria-labelledby={`${id}-list`}>
          <h2 id={`${id}-list`}>Who has applied your changes</h2>
          {items.length === 0 ? (
            <p className="muted">You have not sent a change or flagged anything yet.</p>
          ) : (
            <ul className="plain-list item-list" data-testid="corrections">
              {items.map((r) => (
                <li key={`${r.org}/${r.id}`}>
                  <p className="fact-line row">
                    <strong>
                      {r.name}: {r.category === '' ? 'a record' : labelOf(r.category)}
                    </strong>
                    <span className="muted small">
                      {r.kind === 'flag' ? `flagged: ${FLAG_TEXT[r.reason ?? 'inaccurate']}` : 'new value sent'}, on{' '}
                      {day(r.openedAt)} ({r.jurisdiction})
                    </span>
                    <Status r={r} now={now} />
                  </p>
                  {r.evidence !== undefined && <Systems e={r.evidence} />}
                </li>
              ))}
            </ul>
          )}
        </section>

        <section className="card" aria-labelledby={`${id}-flag`}>
          <h2 id={`${id}-flag`}>Something wrong?</h2>
          <p className="muted">
            Tell a company that what it holds about you is wrong. It must correct it or explain why not, by the legal
            deadline.
          </p>
          {records.length > 0 && (
            <form
              className="stack"
              onSubmit={(e) => {
                e.preventDefault();
                void flag();
              }}
            >
              <label htmlFor={`${id}-rec`}>Which record</label>
              <select id={`${id}-rec`} value={flagTarget} onChange={(e) => setFlagTarget(e.currentTarget.value)}>
                {records.map((r) => (
                  <option key={`${r.org}:${r.id}`} value={`${r.org}:${r.id}`}>
                    {names.get(r.org) ?? r.org}: {labelOf(r.category)}
                  </option>
                ))}
              </select>
              <label htmlFor={`${id}-why`}>Why</label>
              <select
                id={`${id}-why`}
                value={flagReason}
                onChange={(e) => setFlagReason(e.currentTarget.value as FlagReason)}
              >
                {FLAG_REASONS.map((r) => (
                  <option key={r} value={r}>
                    {FLAG_TEXT[r]}
                  </option>
                ))}
              </select>
              <div className="row">
                <button type="submit" className="btn" disabled={busy}>
                  Flag as wrong
                </button>
              </div>
            </form>
          )}
        </section>
      </div>
    </>
  );
}
