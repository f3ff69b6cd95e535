/**
 * What the explorer shows of a contract transaction: a call's receipt (contract, method, caller,
 * result code, gas used, the events it emitted) and a proposal's risk report summary. Receipts are
 * members' data (docs/api.md, "Read access"), read with the console's org token when this tab has
 * one; the code and its risk report are public.
 */
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { SignedTx } from '@custos/protocol/ledger';
import type { CustosClient } from '@custos/sdk';
import { orgName, orgOfKey, resultText } from '@custos/sdk/views';
import { count, money } from '../lib/format.js';
import type { PinnedTrust } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge } from '../ui/ui.js';

/** Events shown in full at most (each is bounded by the runtime's event size). */
const MAX_EVENTS = 50;

export function isContractTx(tx: SignedTx): boolean {
  return tx.body.type === 'contract.call' || tx.body.type === 'contract.propose';
}

export function ContractTx({
  api,
  tx,
  txId,
  trust,
}: {
  api: CustosClient;
  tx: SignedTx;
  txId: string;
  trust: PinnedTrust;
}) {
  return tx.body.type === 'contract.call' ? (
    <CallReceipt api={api} txId={txId} trust={trust} />
  ) : (
    <ProposalRisk api={api} tx={tx} />
  );
}

function CallReceipt({ api, txId, trust }: { api: CustosClient; txId: string; trust: PinnedTrust }) {
  const receipt = useAsync((signal) => api.contractReceipt(txId, { signal }), [api, txId]);
  return (
    <section className="card" aria-labelledby="call-title">
      <h2 id="call-title">Contract call</h2>
      <AsyncView state={receipt} loading="Reading the call’s receipt…">
        {(r) => {
          const org = orgOfKey(trust, r.caller);
          const result = resultText(r.code);
          return (
            <>
              <dl className="facts">
                <dt>Contract</dt>
                <dd>
                  <code>{r.contract}</code>
                </dd>
                <dt>Method</dt>
                <dd>
                  <code>{r.method}</code>
                </dd>
                <dt>Caller</dt>
                <dd>{org === undefined ? <code>{r.caller}</code> : orgName(trust, org)}</dd>
                <dt>Result</dt>
                <dd>
                  <Badge tone={result.tone}>{r.code}</Badge> {r.error !== undefined && <span>{r.error}</span>}
                </dd>
                <dt>Gas used</dt>
                <dd>
                  {count(r.gasUsed)} <span className="muted">of {count(r.gasLimit)}</span>
                </dd>
                <dt>Events</dt>
                <dd>{r.events.length === 0 ? 'None' : count(r.events.length)}</dd>
              </dl>
              {r.events.length > 0 && (
                <>
                  <h3>Events it emitted</h3>
                  <ol className="plain-list" aria-label="Events it emitted">
                    {r.events.slice(0, MAX_EVENTS).map((e, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: events are listed in the order emitted
                      <li key={i}>
                        <pre className="raw-json">{JSON.stringify(e, null, 2)}</pre>
                      </li>
                    ))}
                  </ol>
                </>
              )}
            </>
          );
        }}
      </AsyncView>
    </section>
  );
}

function ProposalRisk({ api, tx }: { api: CustosClient; tx: SignedTx }) {
  const code = typeof tx.body.args.code === 'string' ? tx.body.args.code : '';
  const digest = toHex(sha256(utf8(code)));
  const stored = useAsync((signal) => api.contractCode(digest, { signal }), [api, digest]);
  const manifest = tx.body.args.manifest as { name?: unknown; version?: unknown } | undefined;
  return (
    <section className="card" aria-labelledby="risk-title">
      <h2 id="risk-title">Contract proposal</h2>
      <AsyncView state={stored} loading="Reading the risk report…">
        {(c) => {
          const r = c.risk;
          const level = String(r.score.level ?? '');
          return (
            <dl className="facts">
              <dt>Contract</dt>
              <dd>
                <code>{String(manifest?.name ?? '?')}</code> version {String(manifest?.version ?? '?')}
              </dd>
              <dt>Risk check</dt>
              <dd>
                <Badge tone={r.passed ? 'ok' : 'danger'}>{r.passed ? 'Passed' : 'Not passed'}</Badge>{' '}
                <Badge tone={level === 'high' ? 'danger' : level === 'medium' ? 'warn' : 'ok'}>Risk {level}</Badge>
              </dd>
              <dt>Expected loss</dt>
              <dd>{money(Number(r.score.expectedLossEur ?? 0), 'EUR')}</dd>
              <dt>Findings</dt>
              <dd>{count(r.findings.length)}</dd>
              <dt>Dry run</dt>
              <dd>
                {count(r.dryRun.length)} test {r.dryRun.length === 1 ? 'call' : 'calls'}
              </dd>
              <dt>Code</dt>
              <dd>
                <code>{digest}</code>
              </dd>
            </dl>
          );
        }}
      </AsyncView>
    </section>
  );
}
