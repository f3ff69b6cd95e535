import { govActionText, resultText } from '@custos/sdk/views';
import { useState } from 'react';
import { errorText } from '../lib/api.js';
import { count, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';
import type { GovAction, GovOverview, GovProposal, Member, Message } from './gov-action.js';
import { ProposeForm } from './propose-form.js';

export function MembersPage({ d }: { d: OrgData }) {
  const gov = useAsync((signal) => d.api.govProposals({ signal }), [d]);
  return (
    <AsyncView state={gov} loading="Reading the members and proposals…">
      {(g) => <Governance d={d} g={g} reload={gov.reload} />}
    </AsyncView>
  );
}

function Governance({ d, g, reload }: { d: OrgData; g: GovOverview; reload: () => void }) {
  const name = (id: string) =>
    g.members.find((m) => m.id === id)?.name ?? d.ctx.trust.members.find((m) => m.id === id)?.name ?? id;
  const [message, setMessage] = useState<Message>();
  const done = (m: Message) => {
    setMessage(m);
    reload();
  };
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members of {d.ctx.chain.chainId}</h2>
        <p className="muted">
          A block is final when {g.params.threshold} of the {g.members.length} members have signed it. Members join and
          leave, replace keys and change the rules by vote.
        </p>
        <MemberTable members={g.members} org={d.org} />
      </section>
      <section className="card" aria-labelledby="gov-title">
        <div className="row-between">
          <h2 id="gov-title">Governance proposals</h2>
        </div>
        <div aria-live="polite" className="mb-4">
          {message !== undefined && (
            <Notice tone={message.tone} title={message.tone === 'ok' ? 'Recorded on the ledger' : 'Not recorded'}>
              <p>{message.text}</p>
            </Notice>
          )}
        </div>
        <Proposals d={d} g={g} name={name} onDone={done} />
      </section>
      <section className="card" aria-labelledby="propose-title">
        <h2 id="propose-title">Propose a change</h2>
        <p className="muted">
          Your proposal counts as your yes vote. It takes effect when enough members vote yes (
          {g.policy.admit === 'majority' ? 'a majority' : g.policy.admit} of the members to admit one), and takes votes
          for {count(g.policy.proposalTtlBlocks)} blocks.
        </p>
        <ProposeForm api={d.api} org={d.org} g={g} name={name} onDone={done} />
      </section>
    </div>
  );
}

function MemberTable({ members, org }: { members: Member[]; org: string }) {
  return (
    <div className="table-wrap">
      <table className="responsive">
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Signing keys</th>
            <th scope="col">Peer</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.id}>
              <td data-label="Member">
                {m.name} <span className="muted">({m.id})</span> {m.id === org && <Badge tone="accent">You</Badge>}
              </td>
              <td data-label="Keys">
                <ul className="plain-list">
                  {m.keys.map((k) => (
                    <li key={k}>
                      <code title={k}>{short(k, 18)}</code>
                    </li>
                  ))}
                </ul>
              </td>
              <td data-label="Peer">
                {m.endpoint === null ? (
                  <span className="muted">Not published</span>
                ) : (
                  <code className="break-all">{m.endpoint}</code>
                )}
              </td>
              <td data-label="Since">{m.since === 0 ? 'Founding member' : `Block ${count(m.since)}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const STATE: Record<GovProposal['state'], { text: string; tone: 'ok' | 'warn' | 'danger' | 'neutral' }> = {
  open: { text: 'Voting', tone: 'warn' },
  executed: { text: 'Adopted', tone: 'ok' },
  rejected: { text: 'Rejected', tone: 'danger' },
  expired: { text: 'Expired', tone: 'neutral' },
};

function Proposals({
  d,
  g,
  name,
  onDone,
}: {
  d: OrgData;
  g: GovOverview;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const [busy, setBusy] = useState<string>();
  if (g.proposals.length === 0) {
    return (
      <Empty title="No proposal yet.">
        <p>Proposals to admit or remove a member, replace a key or change the rules, and the votes, appear here.</p>
      </Empty>
    );
  }
  const vote = async (p: GovProposal, v: 'yes' | 'no', what: string) => {
    setBusy(p.id);
    try {
      const r = await d.api.govVote(d.org, p.id, v);
      onDone(
        r.code === 'OK'
          ? { tone: 'ok', text: `You voted ${v} on “${what}”.` }
          : { tone: 'danger', text: `${resultText(r.code).text}.` },
      );
    } catch (e) {
      onDone({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <ul className="plain-list item-list">
      {g.proposals.map((p) => {
        const what = govActionText(p.action, name, g.members.length);
        const yes = Object.values(p.votes).filter((v) => v.vote === 'yes').length;
        const no = Object.values(p.votes).filter((v) => v.vote === 'no').length;
        const mine = p.votes[d.org]?.vote;
        const s = STATE[p.state];
        // While voting: every current member; once decided or expired: those who voted.
        const voters =
          p.state === 'open'
            ? [...new Set([...g.members.map((m) => m.id), ...Object.keys(p.votes)])]
            : Object.keys(p.votes);
        return (
          <li key={p.id} className="proposal">
            <div className="row-between">
              <h3 className="m-0">{what}</h3>
              <Badge tone={s.tone}>{s.text}</Badge>
            </div>
            <p className="fact-line muted small">
              Proposed by {name(p.proposer)} at block {count(p.createdAt)}: “{p.reason.replace(/[.\s]+$/, '')}”.
            </p>
            <ActionDetail a={p.action} />
            <p className="fact-line small">
              {count(yes)} yes, {count(no)} no; {count(p.needs)} yes needed.{' '}
              {p.state === 'open'
                ? `Voting until block ${count(p.expiresAt)} (now ${count(g.height)}).`
                : p.state === 'expired'
                  ? `Voting closed at block ${count(p.expiresAt)}.`
                  : p.state === 'executed'
                    ? `Adopted at block ${count(p.decidedAt ?? 0)}, in force from block ${count(p.effectiveFrom ?? 0)}.`
                    : `Rejected at block ${count(p.decidedAt ?? 0)}.`}
            </p>
            <ul className="plain-list vote-list" aria-label={`Votes on: ${what}`}>
              {voters.map((id) => {
                const v = p.votes[id]?.vote;
                return (
                  <li key={id}>
                    <span>{name(id)}</span>{' '}
                    <Badge tone={v === 'yes' ? 'ok' : v === 'no' ? 'danger' : 'neutral'}>
                      {v === 'yes' ? 'Yes' : v === 'no' ? 'No' : 'Not voted'}
                    </Badge>
                  </li>
                );
              })}
            </ul>
            {p.state === 'open' && (
              <div className="row mt-3">
                <button
                  type="button"
                  className="btn btn-small btn-primary"
                  disabled={busy !== undefined || mine === 'yes'}
                  onClick={() => vote(p, 'yes', what)}
                  aria-label={`Vote yes: ${what}`}
                >
                  {busy === p.id ? 'Voting…' : 'Vote yes'}
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  disabled={busy !== undefined || mine === 'no'}
                  onClick={() => vote(p, 'no', what)}
                  aria-label={`Vote no: ${what}`}
                >
                  Vote no
                </button>
                {mine !== undefined && <span className="muted small">You voted {mine}; you may change it.</span>}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function ActionDetail({ a }: { a: GovAction }) {
  switch (a.kind) {
    case 'admit':
      return (
        <p className="fact-line small">
          Member id <code>{a.id}</code>, peer <code>{a.endpoint}</code>, {a.keys.length === 1 ? 'key' : 'keys'}{' '}
          {a.keys.map((k) => (
            <code key={k} title={k}>
              {short(k, 18)}{' '}
            </code>
          ))}
        </p>
      );
    case 'rotateKey':
      return (
        <p className="fact-line small">
          Replaces <code title={a.oldKey}>{short(a.oldKey, 18)}</code> with{' '}
          <code title={a.newKey}>{short(a.newKey, 18)}</code>
        </p>
      );
    case 'params':
      return (
        <p className="fact-line small">
          Blocks of at most {count(a.blockMaxTxs)} transactions, cut every {count(a.blockMaxMs)} ms.
        </p>
      );
    default:
      return null;
  }
}
