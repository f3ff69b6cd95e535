/**
 * One company, for the customer: what it holds, what the customer allows (consent per purpose,
 * opt-outs), requests with their legal deadlines, every use and share, and downloads.
 */
import { verifyConsentReceipt } from '@custos/protocol/consent';
import { nobleVerifier } from '@custos/protocol/crypto';
import type { SignedTx } from '@custos/protocol/ledger';
import { signedBy, type Wallet } from '@custos/sdk';
import { automatedText, lower, lowerLabels, orgName, recordDates, recordSentence } from '@custos/sdk/views';
import { useState } from 'react';
import { EvmLegs, xtxIdFrom } from '../explorer/xtx-evm.js';
import { client, errorText } from '../lib/api.js';
import { BROWSER_FORMAT, dateTime, day, downloadJson } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge, Empty, ErrorBox, Notice, PageHead, Switch } from '../ui/ui.js';
import {
  CONSENT_DAYS,
  consentNotice,
  giveConsent,
  setMarketingObjection,
  setOptOut,
  withdrawConsent,
} from './actions.js';
import { Agents, LinkAccount } from './agents.js';
import { Requests } from './company-requests.js';
import type { GpcState, PortalData } from './data.js';
import { EventProof, FactProof } from './facts.js';
import { GpcBanner } from './gpc.js';
import { Incidents } from './incidents.js';
import { AgeSection, SensitiveSwitch } from './minors.js';
import { type OrgResult, type OrgView, purposeToggles } from './model.js';

const DAY = 86_400_000;

/** Runs one action at a time, with a message for screen readers and sighted users alike. */
function useAction(reload: () => void) {
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const run = async (key: string, done: string, fn: () => Promise<void>) => {
    setBusy(key);
    setMessage(undefined);
    try {
      await fn();
      setMessage({ tone: 'ok', text: done });
      reload();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, message, run };
}

export function CompanyPage({
  wallet,
  data,
  result,
  reload,
  refreshing,
  gpc,
}: {
  wallet: Wallet;
  data: PortalData;
  result: OrgResult;
  reload: () => void;
  refreshing: boolean;
  gpc: GpcState;
}) {
  const action = useAction(reload);
  const crumbs = (
    <>
      <Link href="/portal">Your data</Link> › {result.name}
    </>
  );
  if (result.view === undefined) {
    return (
      <>
        <PageHead title={result.name} crumbs={crumbs} />
        <ErrorBox
          title={`We could not verify what the node says about ${result.name}`}
          error={result.error}
          retry={reload}
        />
      </>
    );
  }
  const v = result.view;
  return (
    <>
      <PageHead title={v.name} crumbs={crumbs}>
        <p>Everything {v.name} recorded about you on the ledger, and what you allow it to do.</p>
        <div className="row">
          <button type="button" className="btn btn-small" onClick={reload} disabled={refreshing}>
            {refreshing ? 'Refreshing…' : 'Refresh'}
          </button>
          <span className="muted small">As of block {v.history.height}</span>
        </div>
      </PageHead>
      <div className="stack-lg">
        <div aria-live="polite" role="status">
          {action.message !== undefined && <Notice tone={action.message.tone}>{action.message.text}</Notice>}
        </div>
        <GpcBanner gpc={gpc} views={[v]} />
        <LinkAccount v={v} data={data} wallet={wallet} action={action} />
        <Incidents v={v} data={data} />
        <Holdings v={v} data={data} />
        <Allowances v={v} wallet={wallet} data={data} action={action} gpc={gpc} />
        <Requests v={v} wallet={wallet} data={data} action={action} />
        <Agents v={v} wallet={wallet} data={data} action={action} />
        <Timeline v={v} data={data} />
        <Downloads v={v} data={data} wallet={wallet} />
      </div>
    </>
  );
}

function Holdings({ v, data }: { v: OrgView; data: PortalData }) {
  return (
    <section className="card" aria-labelledby="holds-title">
      <h2 id="holds-title">What {v.name} holds about you</h2>
      {v.records.length === 0 ? (
        <Empty title={`${v.name} holds no data about you.`}>
          <p>If they record something, it shows here with the reason and how long they keep it.</p>
        </Empty>
      ) : (
        <ul className="plain-list item-list">
          {v.records.map((r) => {
            const d = recordDates(r, BROWSER_FORMAT);
            const from = r.sourceRecord === null ? undefined : orgName(data.ctx.trust, r.sourceRecord.org);
            return (
              <li key={r.id}>
                <p className="fact-line">
                  <strong>{r.label}</strong> {r.state === 'erased' && <Badge tone="ok">Erased</Badge>} —{' '}
                  {recordSentence(r, v.name, BROWSER_FORMAT)}
                </p>
                <p className="fact-line muted small">{r.description}</p>
                {automatedText(r) !== undefined && <p className="fact-line small">{automatedText(r)}</p>}
                <p className="fact-line muted small row">
                  <span>{d.text}</span>
                  {from !== undefined && <span>Received from {from}</span>}
                  {r.copies.length > 0 && (
                    <span>Copied to {r.copies.map((c) => orgName(data.ctx.trust, c.org)).join(', ')}</span>
                  )}
                  {d.warning !== undefined && <Badge tone="warn">{d.warning}</Badge>}
                  <FactProof view={v} factKey={r.key} trust={data.ctx.trust} pages={r.pages} />
                </p>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

type Action = ReturnType<typeof useAction>;

function Allowances({
  v,
  wallet,
  data,
  action,
  gpc,
}: {
  v: OrgView;
  wallet: Wallet;
  data: PortalData;
  action: Action;
  gpc: GpcState;
}) {
  const chainId = data.ctx.trust.chainId;
  const toggles = purposeToggles(v);
  const until = Date.now() + CONSENT_DAYS * DAY;
  return (
    <section className="card" aria-labelledby="allow-title">
      <div className="section-title">
        <h2 id="allow-title">What you allow</h2>
        <FactProof view={v} factKey={`consent/${v.org}/${v.did}`} trust={data.ctx.trust} />
      </div>
      <h3>Uses that need your consent</h3>
      {toggles.length === 0 ? (
        <p className="muted">{v.name} does not ask for your consent for anything at the moment.</p>
      ) : (
        <div>
          {toggles.map((t) => {
            const live = t.live[0];
            const desc =
              t.on && live !== undefined
                ? `You agreed on ${day(live.grantedAt)}; until ${day(live.expiresAt)}. ${t.description}`
                : `Turn on to agree: “${consentNotice(v.name, t.categories, t.purpose, until, t.automated)}”`;
            return (
              <Switch
                key={t.purpose}
                label={`Your ${lowerLabels(t.categories)} for ${lower(t.label)}`}
                description={desc}
                checked={t.on}
                busy={action.busy === `consent:${t.purpose}`}
                disabled={action.busy !== undefined}
                onChange={(on) =>
                  action.run(
                    `consent:${t.purpose}`,
                    on
                      ? `Saved: ${v.name} may now use your data for ${t.label.toLowerCase()}.`
                      : `Saved: ${v.name} may no longer use your data for ${t.label.toLowerCase()}.`,
                    () => (on ? giveConsent(wallet, chainId, v, t) : withdrawConsent(wallet, chainId, v, t)),
                  )
                }
              />
            );
          })}
        </div>
      )}
      <h3 className="mt-5">Selling and sharing</h3>
      {(['sale', 'share'] as const).map((kind) => {
        const o = v.prefs[kind];
        const byGpc = o?.source === 'gpc';
        const label = kind === 'sale' ? 'Do not sell my data' : 'Do not share my data';
        const description =
          o === null
            ? kind === 'sale'
              ? `${v.name} may sell your data only where your consent allows it.`
              : `${v.name} may share your data with other companies only where your consent allows it.`
            : `On since ${day(o.at)}${byGpc ? ', set by Global Privacy Control: opt-out honored' : ''}.`;
        return (
          <Switch
            key={kind}
            label={label}
            description={description}
            checked={o !== null}
            busy={action.busy === `optout:${kind}`}
            disabled={action.busy !== undefined || (gpc.enabled && o !== null)}
            onChange={(on) =>
              action.run(
                `optout:${kind}`,
                on
                  ? `Saved: ${label.toLowerCase()}.`
                  : `Saved: ${v.name} may ${kind === 'sale' ? 'sell' : 'share'} where your consent allows.`,
                () => setOptOut(wallet, chainId, v.org, kind, on),
              )
            }
          />
        );
      })}
      {gpc.enabled && <p className="muted small">Your browser’s Global Privacy Control keeps these on.</p>}
      <SensitiveSwitch v={v} wallet={wallet} chainId={chainId} action={action} />
      <h3 className="mt-5">Direct marketing</h3>
      {(() => {
        const objected = Object.values(v.prefs.objections ?? {});
        const since = objected.length === 0 ? undefined : Math.min(...objected.map((o) => o.at));
        return (
          <Switch
            label="No direct marketing"
            description={
              since === undefined
                ? `You can object at any time: ${v.name} must then stop using your data for marketing, adverts and recommendations, whatever it relies on, and cannot refuse.`
                : `On since ${day(since)}: ${v.name} may not use your data for marketing, adverts or recommendations.`
            }
            checked={since !== undefined}
            busy={action.busy === 'objection'}
            disabled={action.busy !== undefined}
            onChange={(on) =>
              action.run(
                'objection',
                on
                  ? `Saved: ${v.name} may no longer use your data for direct marketing.`
                  : `Saved: your objection to direct marketing by ${v.name} is withdrawn.`,
                () => setMarketingObjection(wallet, chainId, v.org, on),
              )
            }
          />
        );
      })()}
      <AgeSection v={v} wallet={wallet} chainId={chainId} action={action} />
    </section>
  );
}

function Timeline({ v, data }: { v: OrgView; data: PortalData }) {
  return (
    <section className="card" aria-labelledby="tl-title">
      <h2 id="tl-title">Uses and sharing, and everything else</h2>
      {v.events.length === 0 ? (
        <p className="muted">Nothing has happened with {v.name} yet.</p>
      ) : (
        <ol className="timeline">
          {v.events.map((e) => {
            const refused = e.code !== 'OK';
            return (
              <li key={e.txId} className={refused ? 'refused' : undefined}>
                <div className="timeline-date">{dateTime(e.at)}</div>
                <p className="fact-line">{e.sentence}.</p>
                <p className="fact-line row">
                  {refused || e.type === 'data.access' || e.type === 'data.share' ? (
                    <Badge tone={e.outcome.tone}>{e.outcome.text}</Badge>
                  ) : null}
                  <EventProof view={v} txId={e.txId} trust={data.ctx.trust} />
                </p>
                {(e.type === 'xtx.finalize' || e.type === 'xtx.evmVote') && (
                  <CrossChainLegs tx={e.tx} height={v.history.height} />
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** The EVM side of a cross-chain transaction she took part in (the loyalty points of the demo). */
function CrossChainLegs({ tx, height }: { tx: SignedTx; height: number }) {
  const id = xtxIdFrom(tx);
  return id === undefined ? null : (
    <EvmLegs xtxId={id} refresh={height} title="The other side, on an EVM chain" level={3} />
  );
}

function Downloads({ v, data, wallet }: { v: OrgView; data: PortalData; wallet: Wallet }) {
  const [status, setStatus] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const consentEvents = v.events.filter(
    (e) => (e.type === 'consent.grant' || e.type === 'consent.withdraw') && e.code === 'OK',
  );
  const keys = data.ctx.trust.members.find((m) => m.id === v.org)?.keys ?? [];
  const receipt = async (txId: string, at: number) => {
    setStatus(undefined);
    try {
      // Receipts are the customer's: the node hands them over on a request signed with their key.
      const { signer } = wallet.relationship(data.ctx.trust.chainId, v.org);
      const r = await client.receipts(txId, 'vc', { sign: signedBy(signer) });
      const checks = r.receipts.map((vc) => verifyConsentReceipt(vc, nobleVerifier));
      const ok = checks.every((c) => c.verified && c.issuer !== null && keys.includes(c.issuer));
      downloadJson(`consent-receipt-${v.org}-${txId.slice(0, 12)}.json`, r);
      setStatus(
        ok
          ? { tone: 'ok', text: `Receipt of ${day(at)} downloaded: signed by ${v.name}, signature checked.` }
          : {
              tone: 'danger',
              text: 'Receipt downloaded, but its signature is not that of this company: do not rely on it.',
            },
      );
    } catch (e) {
      setStatus({ tone: 'danger', text: errorText(e) });
    }
  };
  const everything = () =>
    downloadJson(`custos-${v.org}-${new Date().toISOString().slice(0, 10)}.json`, {
      company: { id: v.org, name: v.name },
      yourId: v.did,
      chain: { chainId: data.ctx.trust.chainId, members: data.ctx.trust.members, threshold: data.ctx.trust.threshold },
      asOfBlock: v.history.height,
      records: v.records,
      consents: v.consents,
      optOuts: v.prefs,
      requests: v.requests,
      history: v.events.map((e) => ({
        at: new Date(e.at).toISOString(),
        what: e.sentence,
        result: e.code,
        txId: e.txId,
      })),
      proofs: v.pages,
    });
  return (
    <section className="card" aria-labelledby="dl-title">
      <h2 id="dl-title">Take it with you</h2>
      <p className="muted">
        Everything above as one file, with the proofs, so anyone can check it without trusting us.
      </p>
      <button type="button" className="btn" onClick={everything}>
        Download everything (JSON)
      </button>
      <h3 className="mt-5">Consent receipts</h3>
      {consentEvents.length === 0 ? (
        <p className="muted">No consent given or withdrawn yet.</p>
      ) : (
        <ul className="plain-list item-list">
          {consentEvents.map((e) => (
            <li key={e.txId} className="row-between">
              <span>
                {e.type === 'consent.grant' ? 'Consent given' : 'Consent withdrawn'} on {day(e.at)}
              </span>
              <button type="button" className="btn btn-small" onClick={() => receipt(e.txId, e.at)}>
                Download receipt<span className="visually-hidden"> of {day(e.at)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div aria-live="polite">{status !== undefined && <Notice tone={status.tone}>{status.text}</Notice>}</div>
    </section>
  );
}
