/** The consortium: its members and quorum, and governance proposals (an empty state until governance lands). */
import { count, day, short } from '../lib/format.js';
import { orgName } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, Empty } from '../ui/ui.js';
import type { OrgData } from './data.js';

/** A governance proposal as the ledger state holds it (`gov/proposal/<id>`). */
interface Proposal {
  id: string;
  action: { kind: string; id?: string; name?: string; member?: string; threshold?: number };
  reason: string;
  proposer: string;
  expiresAt: number;
  votes: Record<string, { vote: 'yes' | 'no' }>;
  status: 'open' | 'executed' | 'rejected';
}

function actionText(a: Proposal['action'], name: (id: string) => string): string {
  switch (a.kind) {
    case 'admit':
      return `Admit ${a.name ?? a.id ?? 'a new member'}`;
    case 'remove':
      return `Remove ${name(a.id ?? '')}`;
    case 'rotateKey':
      return `Replace a signing key of ${name(a.member ?? '')}`;
    case 'params':
      return `Change the rules (quorum ${a.threshold ?? '?'})`;
    default:
      return a.kind;
  }
}

export function MembersPage({ d }: { d: OrgData }) {
  const t = d.ctx.trust;
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members of {t.chainId}</h2>
        <p className="muted">
          A block is final when {t.threshold} of the {t.members.length} members have signed it. Members join and leave
          by vote.
        </p>
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Signing keys</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {t.members.map((m) => (
                <tr key={m.id}>
                  <td data-label="Member">
                    {m.name} <span className="muted">({m.id})</span>{' '}
                    {m.id === d.org && <Badge tone="accent">You</Badge>}
                  </td>
                  <td data-label="Keys">
                    {m.keys.map((k) => (
                      <code key={k} title={k}>
                        {short(k, 18)}{' '}
                      </code>
                    ))}
                  </td>
                  <td data-label="Since">{day(d.ctx.chain.genesis.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card" aria-labelledby="gov-title">
        <h2 id="gov-title">Governance proposals</h2>
        <Proposals d={d} />
      </section>
    </div>
  );
}

function Proposals({ d }: { d: OrgData }) {
  const t = d.ctx.trust;
  const proposals = useAsync(
    async (signal) => {
      const page = await d.api.state({ prefix: 'gov/proposal/', limit: 100 }, { signal });
      return page.entries.map((e) => e.value as unknown as Proposal);
    },
    [d],
  );
  return (
    <AsyncView state={proposals} loading="Reading proposals…">
      {(list) =>
        list.length === 0 ? (
          <Empty title="No proposal yet.">
            <p>
              Proposals to admit or remove a member, replace a key or change the rules, and the members’ votes, appear
              here.
            </p>
          </Empty>
        ) : (
          <ul className="plain-list item-list">
            {list.map((p) => {
              const yes = Object.values(p.votes).filter((v) => v.vote === 'yes').length;
              const no = Object.values(p.votes).filter((v) => v.vote === 'no').length;
              const open = p.status === 'open' && d.ctx.chain.height <= p.expiresAt;
              return (
                <li key={p.id}>
                  <p className="fact-line row">
                    <strong>{actionText(p.action, (id) => orgName(t, id))}</strong>
                    <Badge tone={p.status === 'executed' ? 'ok' : p.status === 'rejected' || !open ? 'danger' : 'warn'}>
                      {p.status === 'executed'
                        ? 'Adopted'
                        : p.status === 'rejected'
                          ? 'Rejected'
                          : open
                            ? 'Voting'
                            : 'Expired'}
                    </Badge>
                  </p>
                  <p className="fact-line muted small">
                    Proposed by {orgName(t, p.proposer)}: “{p.reason}”. {count(yes)} yes, {count(no)} no
                    {open ? `; voting until block ${count(p.expiresAt)}` : ''}.
                  </p>
                </li>
              );
            })}
          </ul>
        )
      }
    </AsyncView>
  );
}
