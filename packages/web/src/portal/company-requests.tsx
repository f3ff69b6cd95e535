/** The customer's requests to one company: their legal deadlines, answers, and asking for more. */
import type { Jurisdiction, RequestKind, Wallet } from '@custos/sdk';
import {
  automatedText,
  complaintText,
  deadlineRule,
  erasureExceptionText,
  extendReasonText,
  orgName,
  REQUEST_TEXT,
  rejectReasonText,
  requestNoun,
  reviewOutcomeText,
} from '@custos/sdk/views';
import { useId, useState } from 'react';
import { day, daysUntil, relative } from '../lib/format.js';
import { Badge, ConfirmDialog } from '../ui/ui.js';
import { copyHolders, liftRestriction, openRequest } from './actions.js';
import { CopiesOfErasure } from './copies.js';
import type { PortalData } from './data.js';
import { DataDownload } from './data-export.js';
import { Evidence } from './evidence.js';
import { FactProof } from './facts.js';
import type { OrgView } from './model.js';

const ASKS: RequestKind[] = ['access', 'export', 'rectify', 'restrict', 'erase'];

/** Kinds whose fulfilment stays in force until the customer lifts it. */
const pauses = (kind: RequestKind) => kind === 'restrict' || kind === 'object';

/** What the company page's one-at-a-time action runner offers (company.tsx `useAction`). */
interface Action {
  busy: string | undefined;
  run: (key: string, done: string, fn: () => Promise<void>) => Promise<void>;
}

export function Requests({
  v,
  wallet,
  data,
  action,
}: {
  v: OrgView;
  wallet: Wallet;
  data: PortalData;
  action: Action;
}) {
  const id = useId();
  const [jurisdiction, setJurisdiction] = useState<Jurisdiction>('GDPR');
  const [confirmErase, setConfirmErase] = useState(false);
  // Copies the company received from another one sit under the pseudonym towards that one: the
  // request is sent under it too, so it reaches them.
  const holders = copyHolders(wallet, data.ctx.trust.chainId, v);
  const also = (kind: RequestKind) =>
    holders.length === 0 || kind === 'rectify' || kind === 'review'
      ? ''
      : ` It reaches the ${holders.length === 1 ? 'copy' : 'copies'} ${v.name} received from ${holders.map((h) => orgName(data.ctx.trust, h.orgId)).join(', ')} too.`;
  const ask = (kind: RequestKind) =>
    action.run(
      `request:${kind}`,
      `Sent: ${v.name} must answer your request for ${requestNoun(kind)}.${also(kind)}`,
      () => openRequest(wallet, data.ctx.trust.chainId, v, kind, jurisdiction),
    );
  const firstErase = v.requests.find((r) => r.kind === 'erase')?.id;
  const now = Date.now();
  // A review of a decision taken by machine (GDPR Art. 22(3)) is offered where there is one.
  const asks: RequestKind[] = v.records.some((r) => automatedText(r) !== undefined) ? [...ASKS, 'review'] : ASKS;
  return (
    <section className="card" aria-labelledby="req-title">
      <h2 id="req-title">Your requests</h2>
      {v.requests.length === 0 ? (
        <p className="muted">You have not asked {v.name} for anything yet.</p>
      ) : (
        <ul className="plain-list item-list">
          {v.requests.map((r) => (
            <li key={r.id}>
              <p className="fact-line row">
                <strong>
                  {r.agent === undefined ? 'You' : 'Your authorised agent'} asked for {requestNoun(r.kind)}
                </strong>
                {r.agent !== undefined && <Badge tone="accent">By authorised agent</Badge>}
                {r.status === 'open' && !r.overdue && (
                  <Badge tone="warn">Waiting: due {relative(r.deadline, now)}</Badge>
                )}
                {r.overdue && <Badge tone="danger">Overdue by {-daysUntil(r.deadline, now)} days</Badge>}
                {r.status === 'fulfilled' && !pauses(r.kind) && <Badge tone="ok">Done on {day(r.closedAt!)}</Badge>}
                {r.status === 'fulfilled' && pauses(r.kind) && r.liftedAt === undefined && (
                  <Badge tone="ok">In force since {day(r.closedAt!)}</Badge>
                )}
                {r.status === 'fulfilled' && pauses(r.kind) && r.liftedAt !== undefined && (
                  <Badge tone="neutral">Lifted on {day(r.liftedAt)}</Badge>
                )}
                {r.status === 'rejected' && <Badge tone="danger">Refused on {day(r.closedAt!)}</Badge>}
              </p>
              <p className="fact-line muted small">
                Asked on {day(r.openedAt)}. {v.name} must answer by <strong>{day(r.deadline)}</strong> (
                {deadlineRule(r.jurisdiction, r.kind)}).
              </p>
              {r.ackDeadline !== undefined && (
                <p className="fact-line small">
                  {r.acknowledgedAt !== undefined
                    ? `${v.name} confirmed it received your request on ${day(r.acknowledgedAt)}.`
                    : r.status === 'open'
                      ? `${v.name} must confirm it received your request by ${day(r.ackDeadline)}${now > r.ackDeadline ? ', and has not' : ''}.`
                      : ''}
                </p>
              )}
              {r.originalDeadline !== null && (
                <p className="fact-line small">
                  {v.name} extended the deadline from {day(r.originalDeadline)}:{' '}
                  {extendReasonText(r.extensionReason ?? '')}.
                </p>
              )}
              {r.status === 'fulfilled' && r.exceptions !== undefined && r.exceptions.length > 0 && (
                <p className="fact-line small">
                  {v.name} kept {r.exceptions.length === 1 ? 'one record' : `${r.exceptions.length} records`} under a
                  legal exception: {[...new Set(r.exceptions.map((e) => erasureExceptionText(e.code)))].join('; ')}.
                </p>
              )}
              {r.status === 'rejected' && r.reason !== null && (
                <p className="fact-line small">Their reason: {rejectReasonText(r.reason)}.</p>
              )}
              {r.status === 'fulfilled' && r.reviewOutcome !== undefined && (
                <p className="fact-line small">The answer: {reviewOutcomeText(r.reviewOutcome)}.</p>
              )}
              {(r.status === 'rejected' || r.overdue) && (
                <p className="fact-line small muted">{complaintText(r.jurisdiction)}</p>
              )}
              {r.status === 'fulfilled' && pauses(r.kind) && r.liftedAt === undefined && (
                <div className="row">
                  <p className="fact-line small">
                    {v.name} may not use {r.restricted?.length === 1 ? 'this record' : 'these records'} of yours until
                    you lift it.
                  </p>
                  <button
                    type="button"
                    className="btn"
                    disabled={action.busy !== undefined}
                    onClick={() =>
                      action.run(
                        `lift:${r.id}`,
                        `Lifted: ${v.name} may use your data again where a lawful reason allows.`,
                        () => liftRestriction(wallet, data.ctx.trust.chainId, v, r.id),
                      )
                    }
                  >
                    {action.busy === `lift:${r.id}`
                      ? 'Lifting…'
                      : r.kind === 'object'
                        ? 'Withdraw the objection'
                        : 'Lift the pause'}
                  </button>
                </div>
              )}
              {r.id === firstErase && <CopiesOfErasure v={v} data={data} now={now} />}
              <DataDownload v={v} wallet={wallet} request={r} />
              <Evidence v={v} data={data} request={r} />
              <p className="fact-line">
                <FactProof view={v} factKey={r.key} trust={data.ctx.trust} />
              </p>
            </li>
          ))}
        </ul>
      )}
      <h3 className="mt-5">Ask {v.name}</h3>
      <div className="field w-narrow">
        <label htmlFor={`${id}-law`}>Under which law?</label>
        <select id={`${id}-law`} value={jurisdiction} onChange={(e) => setJurisdiction(e.target.value as Jurisdiction)}>
          <option value="GDPR">EU and UK (GDPR): one month</option>
          <option value="CCPA">California (CCPA): 45 days</option>
        </select>
      </div>
      <div className="row">
        {asks.map((kind) => (
          <button
            key={kind}
            type="button"
            className={kind === 'erase' ? 'btn btn-danger' : 'btn'}
            disabled={action.busy !== undefined}
            onClick={() => (kind === 'erase' ? setConfirmErase(true) : ask(kind))}
          >
            {action.busy === `request:${kind}` ? 'Sending…' : REQUEST_TEXT[kind].ask}
          </button>
        ))}
      </div>
      <ConfirmDialog
        open={confirmErase}
        title={`Ask ${v.name} to erase your data?`}
        confirm="Ask for erasure"
        danger
        onCancel={() => setConfirmErase(false)}
        onConfirm={() => {
          setConfirmErase(false);
          ask('erase');
        }}
      >
        <p>
          {v.name} will have to destroy the keys that unlock your data, so it can never be read again, and record it on
          the ledger. Companies it shared your data with are told to erase their copies too, within a month: you will
          see here which have.
        </p>
      </ConfirmDialog>
    </section>
  );
}
