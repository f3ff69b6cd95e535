import { orgName, orgOfKey, resultText, typeText } from '@custos/sdk/views';
import { client } from '../lib/api.js';
import { count, dateTime, short } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { ChainContext } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, PageHead, Proof } from '../ui/ui.js';
import { checkCertificate, crumbs, signerText, summarize, txSentence } from './common.js';

export function BlockPage({ ctx, height }: { ctx: ChainContext; height: number }) {
  const block = useAsync((signal) => client.block(height, { signal }), [height]);
  const t = ctx.trust;
  return (
    <>
      <PageHead title={`Block ${count(height)}`} crumbs={crumbs(`Block ${count(height)}`)} />
      <AsyncView state={block} loading="Loading the block…">
        {(b) => {
          const check = b.qc === null ? undefined : checkCertificate(t, b.qc);
          return (
            <div className="stack-lg">
              <section className="card" aria-labelledby="hdr-title">
                <h2 id="hdr-title">Header</h2>
                <dl className="facts">
                  <dt>Time</dt>
                  <dd>{dateTime(b.header.time)}</dd>
                  <dt>Transactions</dt>
                  <dd>{summarize(b)}</dd>
                  <dt>Made by</dt>
                  <dd>
                    {orgOfKey(t, b.header.proposer) === undefined ? (
                      <code>{short(b.header.proposer, 20)}</code>
                    ) : (
                      orgName(t, orgOfKey(t, b.header.proposer)!)
                    )}
                  </dd>
                  <dt>History entries after it</dt>
                  <dd>{count(b.header.logSize)}</dd>
                  <dt>Fingerprint</dt>
                  <dd>
                    <code>{b.hash}</code>
                  </dd>
                  <dt>Previous block</dt>
                  <dd>
                    {b.height === 0 ? (
                      'None: this is the first block'
                    ) : (
                      <Link href={`/explorer/block/${b.height - 1}`}>Block {count(b.height - 1)}</Link>
                    )}
                  </dd>
                  <dt>Certificate</dt>
                  <dd>
                    {check === undefined ? (
                      <span className="muted">Not signed by a quorum yet</span>
                    ) : check.ok ? (
                      <Proof explain={<>{check.text}. Checked in this browser.</>} proof={b.qc} />
                    ) : (
                      <Badge tone="danger">Does not verify</Badge>
                    )}
                  </dd>
                </dl>
                <p className="row mt-4">
                  {b.height < ctx.chain.height && (
                    <Link className="btn btn-small" href={`/explorer/block/${b.height + 1}`}>
                      Next block
                    </Link>
                  )}
                </p>
              </section>
              <section aria-labelledby="txs-title">
                <h2 id="txs-title">Transactions</h2>
                {b.header.txCount > b.txs.length && (
                  <p className="muted">
                    {count(b.header.txCount - b.txs.length)} of its {count(b.header.txCount)} transactions are private:
                    only the company they concern and the customer who signed them may read them. The header above
                    commits to all of them, and anyone who knows a transaction’s id can check its proof.
                  </p>
                )}
                {b.txs.length === 0 ? (
                  b.header.txCount === 0 && <p className="muted">This block holds no transaction.</p>
                ) : (
                  <div className="table-wrap">
                    <table className="responsive">
                      <thead>
                        <tr>
                          <th scope="col">#</th>
                          <th scope="col">What</th>
                          <th scope="col">By</th>
                          <th scope="col">Result</th>
                        </tr>
                      </thead>
                      <tbody>
                        {b.txs.map((tx, i) => {
                          const r = resultText(b.results[i] ?? 'OK');
                          return (
                            <tr key={b.txIds[i]}>
                              <td data-label="#">{(b.indexes?.[i] ?? i) + 1}</td>
                              <td data-label="What">
                                <Link href={`/explorer/tx/${b.txIds[i]}`}>{typeText(tx.body.type)}</Link>
                                <div className="muted small">{txSentence(tx, t, b.results[i] ?? 'OK')}</div>
                              </td>
                              <td data-label="By">{signerText(tx, t)}</td>
                              <td data-label="Result">
                                <Badge tone={r.tone}>{r.text}</Badge>
                              </td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )}
              </section>
            </div>
          );
        }}
      </AsyncView>
    </>
  );
}
