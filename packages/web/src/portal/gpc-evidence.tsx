/**
 * The customer's evidence of Global Privacy Control: every time a company's node applied their
 * browser's GPC signal as an opt-out, with when, what, the request id and route, and the ledger
 * transaction. Read from each node's evidence log with requests signed by the pairwise key, so a
 * company learns nothing new from it.
 */
import { signedBy, type Wallet } from '@custos/sdk';
import { useCallback } from 'react';
import { client } from '../lib/api.js';
import { dateTime, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Empty } from '../ui/ui.js';
import type { PortalData } from './data.js';

interface Row {
  name: string;
  seq: number;
  kinds: string[];
  at: number;
  requestId: string;
  route: string;
  txId: string;
}

export function GpcEvidence({ wallet, data }: { wallet: Wallet; data: PortalData }) {
  const load = useCallback(
    async (signal: AbortSignal): Promise<Row[]> => {
      const active = data.orgs.filter((o) => o.view?.active === true);
      const lists = await Promise.all(
        active.map(async (o) => {
          const { signer } = wallet.relationship(data.ctx.trust.chainId, o.org);
          const { evidence } = await client.subjectGpcEvidence(o.did, { sign: signedBy(signer), signal });
          return evidence.map((e) => ({ ...e, name: o.name }));
        }),
      );
      return lists.flat().sort((a, b) => b.at - a.at);
    },
    [wallet, data],
  );
  const state = useAsync(load, [load]);
  return (
    <section className="card mt-5" aria-labelledby="gpc-evidence-title">
      <h2 id="gpc-evidence-title">Global Privacy Control: the evidence</h2>
      <p className="muted">
        Each time a company’s node applied your browser’s Global Privacy Control signal as an opt-out: when, what, and
        the request it came with. No address or browser details are kept.
      </p>
      <AsyncView state={state} loading="Reading the evidence…">
        {(rows) =>
          rows.length === 0 ? (
            <Empty title="No GPC signal applied yet.">
              <p>Turn on Global Privacy Control in your browser, and each company records your opt-out here.</p>
            </Empty>
          ) : (
            <div className="table-wrap">
              <table className="responsive">
                <thead>
                  <tr>
                    <th scope="col">Company</th>
                    <th scope="col">Opted out of</th>
                    <th scope="col">When</th>
                    <th scope="col">Request</th>
                    <th scope="col">On the ledger</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={`${r.name}-${r.seq}`}>
                      <td data-label="Company">{r.name}</td>
                      <td data-label="Opted out of">
                        {r.kinds.map((k) => (k === 'share' ? 'sharing' : k)).join(' and ')}
                      </td>
                      <td data-label="When">{dateTime(r.at)}</td>
                      <td data-label="Request">
                        <code title={r.requestId}>{short(r.requestId, 8)}</code> on <code>{r.route}</code>
                      </td>
                      <td data-label="On the ledger">
                        <code title={r.txId}>{short(r.txId)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </AsyncView>
    </section>
  );
}
