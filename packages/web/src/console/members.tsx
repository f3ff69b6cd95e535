/**
 * The consortium as it is now (from the ledger, not the pinned genesis): its members with their
 * keys and peers, the rules in force, and governance proposals with each member's vote. The org
 * votes and proposes through its node, which signs `gov.vote` / `gov.propose` with the org's key.
 */
import type { CustosClient } from '@custos/sdk';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { count, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { govActionText, resultText } from '../lib/words.js';
import { AsyncView, Badge, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

/** `GET /v1/gov/proposals` (the SDK's `govProposals`). */
type GovOverview = Awaited<ReturnType<CustosClient['govProposals']>>;
type GovProposal = GovOverview['proposals'][number];
type GovAction = GovProposal['action'];
type Member = GovOverview['members'][number];
type Message = { tone: 'ok' | 'danger'; text: string };

const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
/** A new key's proof of possession (trust #4): a base64url Ed25519 signature. */
const KEY_PROOF = /^[A-Za-z0-9_-]{86}$/;

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

type Kind = GovAction['kind'];
const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'admit', label: 'Admit a member' },
  { kind: 'remove', label: 'Remove a member' },
  { kind: 'rotateKey', label: 'Rotate a key' },
  { kind: 'params', label: 'Change the quorum' },
];

/** Validates the form; returns the action or the errors by field. */
function readAction(
  kind: Kind,
  f: FormData,
  g: GovOverview,
): { action: GovAction; errors?: undefined } | { errors: Record<string, string> } {
  const s = (k: string) => String(f.get(k) ?? '').trim();
  const errors: Record<string, string> = {};
  const int = (k: string, min: number, max: number) => {
    const n = Number(s(k));
    if (s(k) === '' || !Number.isInteger(n) || n < min || n > max)
      errors[k] = `Enter a whole number from ${min} to ${max}.`;
    return n;
  };
  let action: GovAction | undefined;
  switch (kind) {
    case 'admit': {
      const id = s('id');
      const keys = s('keys')
        .split(/[\s,]+/)
        .filter((k) => k.length > 0);
      if (!MEMBER_ID.test(id))
        errors.id = 'Use 1 to 32 lower-case letters, digits or dashes, starting with a letter or digit.';
      else if (g.members.some((m) => m.id === id)) errors.id = `${id} is already a member.`;
      if (s('name') === '') errors.name = 'Enter the organisation’s name.';
      if (keys.length === 0 || keys.length > 8) errors.keys = 'Paste 1 to 8 signing keys (did:key), one per line.';
      else if (!keys.every((k) => DID_KEY.test(k))) errors.keys = 'Each key must be a did:key (did:key:z…).';
      else if (new Set(keys).size !== keys.length) errors.keys = 'A key is listed twice.';
      let url: URL | undefined;
      try {
        url = new URL(s('endpoint'));
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        errors.endpoint = 'Enter the http(s) address of the member’s node.';
      const proofs = s('proofs')
        .split(/[\s,]+/)
        .filter((k) => k.length > 0);
      if (proofs.length !== keys.length)
        errors.proofs = 'Paste one proof of possession per key, in the same order as the keys.';
      else if (!proofs.every((p) => KEY_PROOF.test(p))) errors.proofs = 'Each proof is 86 characters of base64url.';
      action = { kind, id, name: s('name'), keys, endpoint: s('endpoint'), proofs };
      break;
    }
    case 'remove':
      if (s('id') === '') errors.id = 'Choose the member to remove.';
      else if (g.members.length - 1 < g.params.threshold)
        errors.id = `Removing a member would leave fewer members than the quorum (${g.params.threshold}): lower the quorum first.`;
      action = { kind, id: s('id') };
      break;
    case 'rotateKey': {
      const [member, oldKey] = s('oldKey').split(' ');
      if (member === undefined || oldKey === undefined || member === '') errors.oldKey = 'Choose the key to replace.';
      if (!DID_KEY.test(s('newKey'))) errors.newKey = 'Enter the new key as a did:key (did:key:z…).';
      else if (s('newKey') === oldKey) errors.newKey = 'The new key must differ from the old one.';
      else if (g.members.some((m) => m.keys.includes(s('newKey'))))
        errors.newKey = 'This key already belongs to a member.';
      if (!KEY_PROOF.test(s('proof'))) errors.proof = 'Paste the new key’s proof of possession (86 characters).';
      action = { kind, member: member ?? '', oldKey: oldKey ?? '', newKey: s('newKey'), proof: s('proof') };
      break;
    }
    case 'params':
      action = {
        kind,
        threshold: int('threshold', 1, g.members.length),
        blockMaxTxs: int('blockMaxTxs', 1, 10_000),
        blockMaxMs: int('blockMaxMs', 1, 60_000),
      };
      break;
  }
  if (s('reason') === '') errors.reason = 'Say why, for the other members.';
  return Object.keys(errors).length > 0 || action === undefined ? { errors } : { action };
}

function ProposeForm({
  api,
  org,
  g,
  name,
  onDone,
}: {
  api: CustosClient;
  org: string;
  g: GovOverview;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const id = useId();
  const [kind, setKind] = useState<Kind>('admit');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const r = readAction(kind, new FormData(form), g);
    if (r.errors !== undefined) {
      setErrors(r.errors);
      const first = Object.keys(r.errors)[0];
      if (first !== undefined) form.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
      return;
    }
    setErrors({});
    setBusy(true);
    const what = govActionText(r.action, name, g.members.length);
    try {
      const res = await api.govPropose(org, {
        action: r.action,
        reason: String(new FormData(form).get('reason')).trim(),
      });
      if (res.code === 'OK') {
        form.reset();
        onDone({ tone: 'ok', text: `Proposed: “${what}”, with your yes vote.` });
      } else onDone({ tone: 'danger', text: `${resultText(res.code).text}.` });
    } catch (err) {
      onDone({ tone: 'danger', text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  const field = (k: string, label: string, input: (props: FieldProps) => ReactNode, hint?: string) => {
    const err = errors[k];
    const describedBy = [hint === undefined ? '' : `${id}-${k}-hint`, err === undefined ? '' : `${id}-${k}-err`]
      .filter(Boolean)
      .join(' ');
    return (
      <div className="field">
        <label htmlFor={`${id}-${k}`}>{label}</label>
        {input({
          id: `${id}-${k}`,
          name: k,
          'aria-invalid': err === undefined ? undefined : true,
          'aria-describedby': describedBy === '' ? undefined : describedBy,
        })}
        {hint !== undefined && (
          <span className="hint" id={`${id}-${k}-hint`}>
            {hint}
          </span>
        )}
        {err !== undefined && (
          <span className="field-error" id={`${id}-${k}-err`}>
            {err}
          </span>
        )}
      </div>
    );
  };
  const others = g.members;
  return (
    <form className="form-narrow" onSubmit={submit} noValidate>
      <fieldset className="choice-group">
        <legend>What to change</legend>
        {KINDS.map((k) => (
          <label key={k.kind} className="choice">
            <input
              type="radio"
              name="kind"
              value={k.kind}
              checked={kind === k.kind}
              onChange={() => {
                setKind(k.kind);
                setErrors({});
              }}
            />{' '}
            {k.label}
          </label>
        ))}
      </fieldset>
      {kind === 'admit' && (
        <>
          {field('name', 'Organisation name', (p) => (
            <input type="text" {...p} maxLength={128} autoComplete="off" />
          ))}
          {field(
            'id',
            'Member id',
            (p) => (
              <input type="text" {...p} maxLength={32} autoComplete="off" spellCheck={false} />
            ),
            'Lower-case letters, digits and dashes, e.g. credit-union.',
          )}
          {field(
            'keys',
            'Signing keys',
            (p) => (
              <textarea {...p} className="keys" spellCheck={false} />
            ),
            'The did:key of each of its signing keys, one per line (at most 8).',
          )}
          {field(
            'proofs',
            'Proofs of possession',
            (p) => (
              <textarea {...p} className="keys" spellCheck={false} />
            ),
            'One per key, in the same order: the new member signs each with that key (custos keys prove --action admit).',
          )}
          {field(
            'endpoint',
            'Address of its node',
            (p) => (
              <input type="text" inputMode="url" {...p} autoComplete="off" spellCheck={false} />
            ),
            'e.g. https://custos.example-credit-union.org',
          )}
        </>
      )}
      {kind === 'remove' &&
        field('id', 'Member to remove', (p) => (
          <select {...p} defaultValue="">
            <option value="" disabled>
              Choose a member
            </option>
            {others.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
                {m.id === org ? ' (you)' : ''}
              </option>
            ))}
          </select>
        ))}
      {kind === 'rotateKey' && (
        <>
          {field('oldKey', 'Key to replace', (p) => (
            <select {...p} defaultValue="">
              <option value="" disabled>
                Choose a key
              </option>
              {others.flatMap((m) =>
                m.keys.map((k) => (
                  <option key={k} value={`${m.id} ${k}`}>
                    {m.name}: {short(k, 18)}
                  </option>
                )),
              )}
            </select>
          ))}
          {field(
            'newKey',
            'New key',
            (p) => (
              <input type="text" {...p} autoComplete="off" spellCheck={false} />
            ),
            'The did:key that replaces it (did:key:z…).',
          )}
          {field(
            'proof',
            'Proof of possession',
            (p) => (
              <input type="text" {...p} autoComplete="off" spellCheck={false} />
            ),
            'Signed by the new key itself, for this member (custos keys prove --action rotateKey).',
          )}
        </>
      )}
      {kind === 'params' && (
        <>
          {field(
            'threshold',
            'Quorum: signatures that make a block final',
            (p) => (
              <input type="number" {...p} min={1} max={g.members.length} defaultValue={g.params.threshold} />
            ),
            `From 1 to ${g.members.length} (now ${g.params.threshold} of ${g.members.length}).`,
          )}
          {field('blockMaxTxs', 'Most transactions in a block', (p) => (
            <input type="number" {...p} min={1} max={10_000} defaultValue={g.params.blockMaxTxs} />
          ))}
          {field('blockMaxMs', 'Longest wait before a block is cut (ms)', (p) => (
            <input type="number" {...p} min={1} max={60_000} defaultValue={g.params.blockMaxMs} />
          ))}
        </>
      )}
      {field(
        'reason',
        'Why',
        (p) => (
          <textarea {...p} className="reason" maxLength={1024} />
        ),
        'The other members read it before they vote.',
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Proposing…' : 'Propose'}
      </button>
    </form>
  );
}

interface FieldProps {
  id: string;
  name: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}
