/**
 * On a company's page: linking the customer's account there with a one-time code the company gave
 * (the wallet signs it; no identifier is pasted anywhere), and the authorised agents (CCPA
 * regulations 7063): grant one a signed delegation credential for this company, see the requests
 * agents made, revoke a delegation on the ledger.
 */
import {
  AGENT_REQUEST_KINDS,
  type AgentRequestKind,
  answerLinkChallenge,
  type DelegationCredential,
  delegationId,
  grantAgent,
  revokeAgentTx,
  type Wallet,
} from '@custos/sdk';
import { requestNoun } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { client } from '../lib/api.js';
import { day, downloadJson } from '../lib/format.js';
import { Avatar, Badge } from '../ui/ui.js';
import { RefusedError } from './actions.js';
import type { PortalData } from './data.js';
import type { OrgView } from './model.js';

interface Action {
  busy: string | undefined;
  run: (key: string, done: string, fn: () => Promise<void>) => Promise<void>;
}

const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
const CODE = /^[A-Za-z0-9_-]{43}$/;
const KIND_TEXT: Record<AgentRequestKind, string> = {
  access: 'a copy of my data',
  erase: 'erasure',
  rectify: 'correction',
  optout: 'opting out of sale and sharing',
};

/** "Link your account": the company's one-time code, signed by the wallet's key for this company. */
export function LinkAccount({
  v,
  data,
  wallet,
  action,
}: {
  v: OrgView;
  data: PortalData;
  wallet: Wallet;
  action: Action;
}) {
  const id = useId();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const link = () => {
    const c = code.trim();
    if (!CODE.test(c)) {
      setError(`Enter the 43-character code ${v.name} gave you (letters, digits, - and _).`);
      return;
    }
    setError(undefined);
    void action.run(
      'link',
      `Linked: ${v.name} now knows your account by your private ID, proven by your wallet.`,
      async () => {
        await client.answerLink(v.org, answerLinkChallenge(wallet, data.ctx.trust.chainId, v.org, c));
        setCode('');
      },
    );
  };
  return (
    <section className="card" aria-labelledby="id-title">
      <div className="company-head">
        <Avatar name={v.name} />
        <h2 id="id-title" className="m-0">
          Link your account with {v.name}
        </h2>
      </div>
      <p className="muted mt-3">
        {v.name} gives you a one-time code (in its app or on its website). Your wallet signs it with your private ID for{' '}
        {v.name}, which proves the ID is yours; the code works once, for 10 minutes. Every company sees a different ID,
        so they cannot put your records together.
      </p>
      <div className="field w-narrow">
        <label htmlFor={`${id}-code`}>One-time code from {v.name}</label>
        <input
          id={`${id}-code`}
          value={code}
          maxLength={64}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : `${id}-err`}
          onChange={(e) => setCode(e.target.value)}
        />
        {error !== undefined && (
          <p id={`${id}-err`} className="field-error">
            {error}
          </p>
        )}
      </div>
      <div className="row">
        <button type="button" className="btn" disabled={action.busy !== undefined} onClick={link}>
          {action.busy === 'link' ? 'Linking…' : 'Link my account'}
        </button>
        <span className="muted small">
          Your private ID: <code data-did={v.did}>{v.did}</code>
        </span>
      </div>
    </section>
  );
}

const storeKey = (did: string) => `custos.delegations.${did}`;

function storedGrants(did: string): DelegationCredential[] {
  try {
    const raw = localStorage.getItem(storeKey(did));
    const list = raw === null ? [] : (JSON.parse(raw) as DelegationCredential[]);
    return Array.isArray(list) ? list.slice(0, 50) : [];
  } catch {
    return [];
  }
}

/** Authorised agents for this company: grant, the requests they made, revoke. */
export function Agents({ v, data, wallet, action }: { v: OrgView; data: PortalData; wallet: Wallet; action: Action }) {
  const id = useId();
  const chainId = data.ctx.trust.chainId;
  const [agent, setAgent] = useState('');
  const [kinds, setKinds] = useState<AgentRequestKind[]>(['access']);
  const [days, setDays] = useState(30);
  const [error, setError] = useState<string>();
  const [grants, setGrants] = useState(() => storedGrants(v.did));
  // Revoked on the ledger: the customer's own agent.revoke events.
  const revoked = new Set(
    v.history.events
      .filter((e) => e.tx.body.type === 'agent.revoke')
      .map((e) => String((e.tx.body.args as { delegation?: unknown }).delegation)),
  );
  const byAgent = v.requests.filter((r) => r.agent !== undefined);
  const grant = () => {
    if (!DID_KEY.test(agent.trim())) {
      setError('Enter the agent’s key: a did:key the agent gave you (it starts with did:key:z).');
      return;
    }
    if (kinds.length === 0) {
      setError('Choose at least one thing the agent may ask for.');
      return;
    }
    setError(undefined);
    void action.run(
      'grant',
      `Signed: give the file to your agent. It may act until ${day(Date.now() + days * 86_400_000)}.`,
      async () => {
        const vc = grantAgent(wallet, chainId, v.org, agent.trim(), kinds, { days });
        const next = [vc, ...grants].slice(0, 50);
        localStorage.setItem(storeKey(v.did), JSON.stringify(next));
        setGrants(next);
        downloadJson(`delegation-${v.org}.json`, vc);
      },
    );
  };
  const revoke = (delegation: string) =>
    action.run(`revoke:${delegation}`, 'Revoked: no request under it is accepted any more.', async () => {
      const r = await client.submitAndWait(revokeAgentTx(wallet, chainId, v.org, delegation));
      if (r.code !== 'OK') throw new RefusedError(r);
    });
  const rows = new Map<string, { id: string; agent: string; until?: string; kinds?: string[] }>();
  for (const g of grants) {
    const gid = delegationId(g);
    rows.set(gid, {
      id: gid,
      agent: g.credentialSubject.id,
      until: g.validUntil,
      kinds: g.credentialSubject.requestKinds,
    });
  }
  for (const r of byAgent) {
    if (!rows.has(r.agent!.delegation)) rows.set(r.agent!.delegation, { id: r.agent!.delegation, agent: r.agent!.key });
  }
  return (
    <section className="card" aria-labelledby="agents-title">
      <h2 id="agents-title">Authorised agents</h2>
      <p className="muted">
        Someone you trust (a person or a service) may make requests to {v.name} for you. You sign a permission that
        names their key, what they may ask for and until when; it says nothing about you but your private ID for{' '}
        {v.name}. You can revoke it at any time.
      </p>
      {byAgent.length > 0 && (
        <ul className="plain-list item-list" aria-label="Requests made by an authorised agent">
          {byAgent.map((r) => (
            <li key={r.id} className="fact-line row">
              <Badge tone="accent">By authorised agent</Badge>
              <span>
                {requestNoun(r.kind)}, asked on {day(r.openedAt)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {rows.size > 0 && (
        <ul className="plain-list item-list" aria-label="Your permissions">
          {[...rows.values()].map((g) => (
            <li key={g.id} className="row">
              <span className="small">
                Agent <code>{g.agent.slice(0, 24)}…</code>
                {g.kinds !== undefined && ` may ask for ${g.kinds.join(', ')}`}
                {g.until !== undefined && ` until ${g.until.slice(0, 10)}`}
              </span>
              {revoked.has(g.id) ? (
                <Badge tone="neutral">Revoked</Badge>
              ) : (
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  disabled={action.busy !== undefined}
                  onClick={() => revoke(g.id)}
                >
                  {action.busy === `revoke:${g.id}` ? 'Revoking…' : 'Revoke'}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <h3 className="mt-5">Authorise an agent</h3>
      <div className="field">
        <label htmlFor={`${id}-agent`}>The agent’s key</label>
        <input
          id={`${id}-agent`}
          value={agent}
          maxLength={80}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : `${id}-err`}
          onChange={(e) => setAgent(e.target.value)}
        />
      </div>
      <fieldset className="field">
        <legend>What they may ask {v.name} for</legend>
        {AGENT_REQUEST_KINDS.map((k) => (
          <label key={k} className="row small">
            <input
              type="checkbox"
              checked={kinds.includes(k)}
              onChange={(e) => setKinds(e.target.checked ? [...kinds, k] : kinds.filter((x) => x !== k))}
            />
            {KIND_TEXT[k]}
          </label>
        ))}
      </fieldset>
      <div className="field w-narrow">
        <label htmlFor={`${id}-days`}>For how many days</label>
        <select id={`${id}-days`} value={days} onChange={(e) => setDays(Number(e.target.value))}>
          <option value={7}>7 days</option>
          <option value={30}>30 days</option>
          <option value={90}>90 days</option>
          <option value={365}>A year</option>
        </select>
      </div>
      {error !== undefined && (
        <p id={`${id}-err`} className="field-error">
          {error}
        </p>
      )}
      <button type="button" className="btn" disabled={action.busy !== undefined} onClick={grant}>
        {action.busy === 'grant' ? 'Signing…' : 'Sign the permission'}
      </button>
    </section>
  );
}
