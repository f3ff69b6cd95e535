/**
 * The console's Contracts tab: every contract on the ledger with its status, gas use and pause
 * state, the pending proposal with its votes and the risk reports of the proposed code and of the
 * code in force side by side, and the org's recent calls. The org votes on a proposal and asks for
 * an emergency pause from here (docs/contracts.md, "In the console and explorer").
 */
import type { ContractDetail, ContractSummary } from '@custos/sdk';
import { resultText } from '@custos/sdk/views';
import { useState } from 'react';
import { errorText } from '../lib/api.js';
import { count, list } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, ConfirmDialog, Empty, Notice } from '../ui/ui.js';
import { RiskReports, RiskVerdict } from './contract-risk.js';
import type { OrgData } from './data.js';
import type { Message } from './gov-action.js';

/** Contracts read in full at a time (the list itself is one request). */
const MAX_DETAILS = 50;

const STATUS: Record<ContractSummary['status'], { text: string; tone: 'ok' | 'warn' | 'danger' | 'neutral' }> = {
  proposed: { text: 'Proposed', tone: 'warn' },
  active: { text: 'Active', tone: 'ok' },
  paused: { text: 'Paused', tone: 'danger' },
  removed: { text: 'Removed', tone: 'neutral' },
};

export function ContractsPage({ d }: { d: OrgData }) {
  const state = useAsync(
    async (signal) => {
      const listing = await d.api.contractList({ signal });
      const details = await Promise.all(
        listing.contracts.slice(0, MAX_DETAILS).map((c) => d.api.contract(c.name, { signal })),
      );
      const members = new Map(d.ctx.trust.members.map((m) => [m.id, m.name]));
      return { listing, details, members };
    },
    [d],
  );
  const [message, setMessage] = useState<Message>();
  return (
    <AsyncView state={state} loading="Reading the contracts…">
      {({ listing, details, members }) => {
        const name = (id: string) => members.get(id) ?? id;
        const done = (m: Message) => {
          setMessage(m);
          state.reload();
        };
        return (
          <div className="stack-lg">
            <p className="muted">
              Contracts run on every member’s peer once a majority of the {count(listing.members)} members approved
              their code. Each proposal comes with a risk check every peer ran before the vote. A third of the members
              can pause a contract at once.
            </p>
            <div aria-live="polite">
              {message !== undefined && (
                <Notice tone={message.tone} title={message.tone === 'ok' ? 'Recorded on the ledger' : 'Not recorded'}>
                  <p>{message.text}</p>
                </Notice>
              )}
            </div>
            {details.length === 0 ? (
              <Empty title="No contract yet.">
                <p>
                  Contracts proposed with <code>custos contract propose</code> appear here with their risk report.
                </p>
              </Empty>
            ) : (
              details.map((c) => <ContractCard key={c.contract.name} d={d} c={c} name={name} onDone={done} />)
            )}
            {listing.truncated && <p className="muted small">Only the first contracts are listed.</p>}
          </div>
        );
      }}
    </AsyncView>
  );
}

function ContractCard({
  d,
  c,
  name,
  onDone,
}: {
  d: OrgData;
  c: ContractDetail;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const s = c.contract;
  const status = STATUS[s.status];
  const titleId = `contract-${s.name}`;
  return (
    <section className="card" aria-labelledby={titleId}>
      <div className="row-between">
        <h2 id={titleId} className="m-0">
          {s.name} {s.version !== null && <span className="muted">{s.version}</span>}
        </h2>
        <Badge tone={status.tone}>{status.text}</Badge>
      </div>
      <dl className="facts">
        <dt>Calls</dt>
        <dd>{count(s.calls)}</dd>
        <dt>Gas used</dt>
        <dd>{count(s.gasUsed)}</dd>
        <dt>Gas limit per call</dt>
        <dd>{s.maxGas === null ? '—' : count(s.maxGas)}</dd>
        <dt>Code in force</dt>
        <dd>
          {s.risk === null ? 'None yet' : <RiskVerdict passed={s.risk.passed} level={s.risk.level} />}
          {s.activeFrom !== null && <span className="muted small"> from block {count(s.activeFrom)}</span>}
        </dd>
      </dl>
      <PauseState d={d} s={s} name={name} onDone={onDone} />
      {s.pending !== null && s.pending.proposal !== null && <Proposal d={d} c={c} name={name} onDone={onDone} />}
      <RiskReports inForce={c.inForce} proposed={c.proposed} />
      <RecentCalls c={c} name={name} />
    </section>
  );
}

function PauseState({
  d,
  s,
  name,
  onDone,
}: {
  d: OrgData;
  s: ContractSummary;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const asked = s.pause.votes.includes(d.org);
  const pause = async () => {
    setConfirming(false);
    setBusy(true);
    try {
      const r = await d.api.contractPause(d.org, s.name);
      onDone(
        r.code === 'OK'
          ? { tone: 'ok', text: `You asked for the pause of ${s.name}.` }
          : { tone: 'danger', text: `${resultText(r.code).text}.` },
      );
    } catch (e) {
      onDone({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  if (s.status === 'paused') {
    return (
      <p className="fact-line">
        <strong>Paused</strong> at block {count(s.pause.pausedAt ?? 0)} by {list(s.pause.votes.map(name))}. It runs
        again when a majority votes to resume it (<code>custos contract resume</code>).
      </p>
    );
  }
  if (s.status !== 'active') return null;
  return (
    <div className="row mt-3">
      <span className="small">
        Pause votes: {count(s.pause.votes.length)} of {count(s.pause.needed)} needed
        {s.pause.votes.length > 0 ? ` (${list(s.pause.votes.map(name))})` : ''}.
      </span>
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={busy || asked}
        onClick={() => setConfirming(true)}
        aria-label={`Pause ${s.name}`}
      >
        {busy ? 'Pausing…' : asked ? 'You asked for a pause' : 'Pause'}
      </button>
      <ConfirmDialog
        open={confirming}
        title={`Pause ${s.name}?`}
        confirm="Pause the contract"
        danger
        onConfirm={pause}
        onCancel={() => setConfirming(false)}
      >
        <p>
          Your vote counts toward the emergency pause: with {count(s.pause.needed)}{' '}
          {s.pause.needed === 1 ? 'vote' : 'votes'} the contract stops at once, and every call is refused until a
          majority votes to resume it.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function Proposal({
  d,
  c,
  name,
  onDone,
}: {
  d: OrgData;
  c: ContractDetail;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const [busy, setBusy] = useState(false);
  const pending = c.contract.pending;
  const p = pending?.proposal;
  if (pending === null || p === undefined || p === null) return null;
  const yes = p.votes.filter((v) => v.vote === 'yes').length;
  const mine = p.votes.find((v) => v.member === d.org)?.vote;
  const what = `${c.contract.name} ${pending.version}`;
  const vote = async (v: 'yes' | 'no') => {
    setBusy(true);
    try {
      const r = await d.api.govVote(d.org, p.id, v);
      onDone(
        r.code === 'OK'
          ? { tone: 'ok', text: `You voted ${v} on ${what}.` }
          : { tone: 'danger', text: `${resultText(r.code).text}.` },
      );
    } catch (e) {
      onDone({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="proposal mt-3">
      <h3 className="m-0">Proposal: version {pending.version}</h3>
      <p className="fact-line muted small">
        Proposed by {name(p.proposer)} at block {count(p.createdAt)}: “{p.reason.replace(/[.\s]+$/, '')}”.{' '}
        {pending.risk !== null && <RiskVerdict passed={pending.risk.passed} level={pending.risk.level} />}
      </p>
      <p className="fact-line small">
        {count(yes)} yes of {count(p.needs)} needed;{' '}
        {p.state === 'open' ? `voting until block ${count(p.expiresAt)}.` : `${p.state}.`}
      </p>
      <ul className="plain-list vote-list" aria-label={`Votes on ${what}`}>
        {p.votes.map((v) => (
          <li key={v.member}>
            <span>{name(v.member)}</span>{' '}
            <Badge tone={v.vote === 'yes' ? 'ok' : 'danger'}>{v.vote === 'yes' ? 'Yes' : 'No'}</Badge>
          </li>
        ))}
      </ul>
      {p.state === 'open' && (
        <div className="row mt-3">
          <button
            type="button"
            className="btn btn-small btn-primary"
            disabled={busy || mine === 'yes'}
            onClick={() => vote('yes')}
            aria-label={`Vote yes on ${what}`}
          >
            {busy ? 'Voting…' : 'Vote yes'}
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger"
            disabled={busy || mine === 'no'}
            onClick={() => vote('no')}
            aria-label={`Vote no on ${what}`}
          >
            Vote no
          </button>
          {mine !== undefined && <span className="muted small">You voted {mine}; you may change it.</span>}
        </div>
      )}
    </div>
  );
}

function RecentCalls({ c, name }: { c: ContractDetail; name: (id: string) => string }) {
  if (c.recentCalls === null || c.recentCalls.length === 0) return null;
  return (
    <div className="table-wrap mt-3">
      <table className="responsive">
        <caption className="small muted">Recent calls</caption>
        <thead>
          <tr>
            <th scope="col">Transaction</th>
            <th scope="col">Method</th>
            <th scope="col">Caller</th>
            <th scope="col">Result</th>
            <th scope="col">Gas used</th>
            <th scope="col">Events</th>
          </tr>
        </thead>
        <tbody>
          {c.recentCalls.map((r) => (
            <tr key={r.txId}>
              <td data-label="Transaction">
                <Link href={`/explorer/tx/${r.txId}`}>Block {count(r.height)}</Link>
              </td>
              <td data-label="Method">
                <code>{r.method}</code>
              </td>
              <td data-label="Caller">{r.callerOrg === null ? '—' : name(r.callerOrg)}</td>
              <td data-label="Result">
                <Badge tone={r.code === 'OK' ? 'ok' : 'danger'}>{r.code}</Badge>
              </td>
              <td data-label="Gas used">{count(r.gasUsed)}</td>
              <td data-label="Events">{count(r.events.length)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
