/**
 * The explorer: the chain and the members it is checked against, the latest checkpoint and its
 * quorum certificate (verified here), blocks, transactions with their result codes in words, and a
 * proof checker that verifies any proof in this browser.
 */
import { nobleVerifier } from '@custos/protocol/crypto';
import { parseCrossChainTx, xtxIdOf } from '@custos/protocol/interop';
import { type QuorumCertificate, type SignedTx, verifyQuorumCertificate } from '@custos/protocol/ledger';
import type { BlockView, TxView } from '@custos/sdk';
import { type FormEvent, useId } from 'react';
import { client } from '../lib/api.js';
import { count, dateTime, list, short } from '../lib/format.js';
import { useLiveHeight } from '../lib/live.js';
import { Link, match, navigate, useLocation } from '../lib/router.js';
import { type ChainContext, loadChain, membersAt, orgName, orgOfKey, type PinnedTrust } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { eventSentence, resultText, typeText } from '../lib/words.js';
import { AsyncView, Badge, ErrorBox, Notice, PageHead, Proof } from '../ui/ui.js';
import { ProofChecker } from './verify.js';
import { XtxListPage, XtxPage } from './xtx.js';

const PAGE = 15;

export function Explorer() {
  const { path, query } = useLocation();
  const live = useLiveHeight();
  const chain = useAsync((signal) => loadChain(signal), [live]);
  const block = match<'height'>('/explorer/block/:height', path);
  const tx = match<'txId'>('/explorer/tx/:txId', path);
  const xtx = match<'id'>('/explorer/xtx/:id', path);
  return (
    <AsyncView state={chain} loading="Connecting to the ledger…">
      {(ctx) =>
        path === '/explorer/verify' ? (
          <ProofChecker ctx={ctx} query={query} />
        ) : block !== undefined ? (
          <BlockPage ctx={ctx} height={Number(block.height)} />
        ) : tx !== undefined ? (
          <TxPage ctx={ctx} txId={tx.txId} />
        ) : path === '/explorer/xtx' ? (
          <XtxListPage ctx={ctx} />
        ) : xtx !== undefined ? (
          <XtxPage ctx={ctx} id={xtx.id} />
        ) : (
          <ExplorerHome ctx={ctx} before={query.get('before')} />
        )
      }
    </AsyncView>
  );
}

function crumbs(here: string) {
  return (
    <>
      <Link href="/explorer">Explorer</Link> › {here}
    </>
  );
}

/** "Bank and Insurer (2 of 3 needed)", after checking every signature against the pinned members. */
function checkCertificate(
  trust: PinnedTrust,
  qc: QuorumCertificate,
): { ok: true; text: string } | { ok: false; error: unknown } {
  try {
    const set = membersAt(trust, qc.checkpoint.height);
    verifyQuorumCertificate(qc, set, nobleVerifier, trust.chainId);
    const names = qc.signatures.map((s) => orgName(trust, orgOfKey(trust, s.signer) ?? '?'));
    return { ok: true, text: `Signed by ${list(names)}: ${set.threshold} of ${set.members.length} needed` };
  } catch (error) {
    return { ok: false, error };
  }
}

function ExplorerHome({ ctx, before }: { ctx: ChainContext; before: string | null }) {
  const id = useId();
  const top =
    before !== null && /^[0-9]+$/.test(before) ? Math.min(Number(before) - 1, ctx.chain.height) : ctx.chain.height;
  const blocks = useAsync(
    async (signal) => {
      const heights = Array.from({ length: Math.min(PAGE, top + 1) }, (_, i) => top - i);
      return Promise.all(heights.map((h) => client.block(h, { signal })));
    },
    [top],
  );
  const checkpoint = useAsync((signal) => client.checkpoint({ signal }), [ctx.chain.height]);
  const search = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const q = String(new FormData(e.currentTarget).get('q') ?? '')
      .trim()
      .toLowerCase();
    if (/^[0-9]{1,15}$/.test(q)) navigate(`/explorer/block/${Number(q)}`);
    else if (/^[0-9a-f]{64}$/.test(q)) navigate(`/explorer/tx/${q}`);
  };
  const t = ctx.trust;
  return (
    <>
      <PageHead title="Explorer">
        <p>
          The ledger as it is: every block, every transaction with its result, and the checkpoints the members signed.
          Everything marked “Verified” was checked in this browser.
        </p>
      </PageHead>
      <div className="stack-lg">
        {ctx.mismatch && (
          <Notice tone="danger" title="This node serves another ledger than the one this browser trusts">
            <p>
              Trusted: <code>{t.chainId}</code>. Served: <code>{ctx.chain.chainId}</code>. Proofs from this node will
              not verify.
            </p>
          </Notice>
        )}
        {ctx.epochsError !== undefined && (
          <Notice tone="danger" title="This node's changes to the member set did not verify">
            <p>
              Proofs are checked against the members this browser verified before. The node's member-set updates were
              refused: {ctx.epochsError}
            </p>
          </Notice>
        )}
        <div className="grid-2">
          <section className="card" aria-labelledby="chain-title">
            <h2 id="chain-title">The ledger</h2>
            <dl className="facts">
              <dt>Name</dt>
              <dd>
                <code>{ctx.chain.chainId}</code>
              </dd>
              <dt>Blocks</dt>
              <dd>{count(ctx.chain.height + 1)}</dd>
              <dt>Latest block</dt>
              <dd>{dateTime(ctx.chain.time)}</dd>
              <dt>Members</dt>
              <dd>{list(t.members.map((m) => m.name))}</dd>
              <dt>Quorum</dt>
              <dd>
                {t.threshold} of {t.members.length} signatures make a block final
              </dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="cp-title">
            <h2 id="cp-title">Latest checkpoint</h2>
            <AsyncView state={checkpoint}>{(qc) => <Checkpoint qc={qc} trust={t} />}</AsyncView>
          </section>
        </div>

        <search className="card">
          <form className="row" onSubmit={search}>
            <label htmlFor={`${id}-q`} className="visually-hidden">
              Block number or transaction id
            </label>
            <input
              id={`${id}-q`}
              name="q"
              type="search"
              placeholder="Block number or transaction id"
              className="grow"
            />
            <button type="submit" className="btn">
              Find
            </button>
            <Link href="/explorer/verify" className="btn btn-primary">
              Check a proof
            </Link>
            <Link href="/explorer/xtx" className="btn">
              Cross-chain
            </Link>
          </form>
        </search>

        <section aria-labelledby="blocks-title">
          <div className="section-title">
            <h2 id="blocks-title">{before === null ? 'Latest blocks' : `Blocks up to ${count(top)}`}</h2>
          </div>
          <AsyncView state={blocks} loading="Loading blocks…">
            {(bs) => <BlockTable blocks={bs} trust={t} />}
          </AsyncView>
          {top - PAGE >= 0 && (
            <p className="mt-4">
              <Link href={`/explorer?before=${top - PAGE + 1}`} className="btn btn-small">
                Older blocks
              </Link>
            </p>
          )}
        </section>
      </div>
    </>
  );
}

function Checkpoint({ qc, trust }: { qc: QuorumCertificate; trust: PinnedTrust }) {
  const check = checkCertificate(trust, qc);
  return (
    <>
      <dl className="facts">
        <dt>Block</dt>
        <dd>
          <Link href={`/explorer/block/${qc.checkpoint.height}`}>{count(qc.checkpoint.height)}</Link>
        </dd>
        <dt>History entries</dt>
        <dd>{count(qc.checkpoint.logSize)}</dd>
        <dt>History root</dt>
        <dd>
          <code title={qc.checkpoint.logRoot}>{short(qc.checkpoint.logRoot, 16)}</code>
        </dd>
        <dt>State root</dt>
        <dd>
          <code title={qc.checkpoint.stateRoot}>{short(qc.checkpoint.stateRoot, 16)}</code>
        </dd>
      </dl>
      <p className="mt-3">
        {check.ok ? (
          <Proof
            explain={<>{check.text}. Each signature was checked in this browser against the members’ keys you trust.</>}
            proof={qc}
          />
        ) : (
          <Badge tone="danger">Not verified</Badge>
        )}
      </p>
      {!check.ok && <ErrorBox title="This checkpoint does not verify" error={check.error} />}
    </>
  );
}

function summarize(b: BlockView): string {
  const total = b.header.txCount;
  if (total === 0) return 'Empty';
  // Transactions about customers are private to their parties: a visitor sees how many, not what.
  const hidden = total - b.txs.length;
  const refused = b.results.filter((c) => c !== 'OK').length;
  const seen =
    b.txs.length === 0
      ? ''
      : refused === 0
        ? `${b.txs.length} done`
        : refused === b.txs.length
          ? `${refused} refused`
          : `${b.txs.length - refused} done, ${refused} refused`;
  if (hidden === 0) return seen;
  const priv = `${count(hidden)} private`;
  return seen === '' ? priv : `${seen}, ${priv}`;
}

function BlockTable({ blocks, trust }: { blocks: BlockView[]; trust: PinnedTrust }) {
  return (
    <div className="table-wrap">
      <table className="responsive">
        <thead>
          <tr>
            <th scope="col">Block</th>
            <th scope="col">Time</th>
            <th scope="col">Transactions</th>
            <th scope="col">What happened</th>
          </tr>
        </thead>
        <tbody>
          {blocks.map((b) => {
            const types = [...new Set(b.txs.map((t) => typeText(t.body.type)))];
            return (
              <tr key={b.height}>
                <td data-label="Block">
                  <Link href={`/explorer/block/${b.height}`}>{count(b.height)}</Link>
                </td>
                <td data-label="Time">{dateTime(b.header.time)}</td>
                <td data-label="Transactions">
                  {summarize(b)}
                  {b.qc === null ? '' : ''}
                </td>
                <td data-label="What happened">
                  {b.height === 0
                    ? `Genesis: ${list(trust.members.map((m) => m.name))} start the ledger`
                    : types.join(', ') || (b.header.txCount > 0 ? 'Private to the parties' : '—')}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function txSentence(tx: SignedTx, trust: PinnedTrust, code: string): string {
  const actor = orgOfKey(trust, tx.body.signer);
  return eventSentence(tx, {
    name: (id) => orgName(trust, id),
    actor,
    category: () => undefined,
    requestKind: () => undefined,
    subject: 'a customer',
    code,
  });
}

function signerText(tx: SignedTx, trust: PinnedTrust): string {
  const org = orgOfKey(trust, tx.body.signer);
  return org === undefined ? 'A customer (private ID)' : orgName(trust, org);
}

function BlockPage({ ctx, height }: { ctx: ChainContext; height: number }) {
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

function TxPage({ ctx, txId }: { ctx: ChainContext; txId: string }) {
  const tx = useAsync((signal) => client.tx(txId, { signal }), [txId]);
  const t = ctx.trust;
  return (
    <>
      <PageHead title="Transaction" crumbs={crumbs('Transaction')} />
      <AsyncView state={tx} loading="Loading the transaction…">
        {(c) => {
          const r = resultText(c.code);
          if (c.tx === undefined) return <PrivateTx c={c} />;
          const tx = c.tx;
          return (
            <div className="stack-lg">
              <section className="card" aria-labelledby="what-title">
                <h2 id="what-title">{typeText(tx.body.type)}</h2>
                <p>{txSentence(tx, t, c.code)}.</p>
                <p>
                  <Badge tone={r.tone}>{r.text}</Badge>
                </p>
                {xtxIdFrom(tx) !== undefined && (
                  <p>
                    <Link href={`/explorer/xtx/${xtxIdFrom(tx)}`}>See the cross-chain transaction</Link>
                  </p>
                )}
                <dl className="facts">
                  <dt>Signed by</dt>
                  <dd>
                    {signerText(tx, t)} <code className="muted">{short(tx.body.signer, 16)}</code>
                  </dd>
                  <dt>Signed at</dt>
                  <dd>{dateTime(tx.body.createdAt)}</dd>
                  <dt>In block</dt>
                  <dd>
                    <Link href={`/explorer/block/${c.height}`}>Block {count(c.height)}</Link>, position {c.index + 1}
                  </dd>
                  <dt>History entry</dt>
                  <dd>{count(c.logIndex + 1)}</dd>
                  <dt>Id</dt>
                  <dd>
                    <code>{txId}</code>
                  </dd>
                </dl>
                <details className="disclosure mt-4">
                  <summary>Show the signed transaction</summary>
                  <pre className="raw-json">{JSON.stringify(tx, null, 2)}</pre>
                </details>
              </section>
              <section className="card" aria-labelledby="incl-title">
                <h2 id="incl-title">Is it really on the ledger?</h2>
                <p className="muted">
                  Ask the node for a proof that this transaction is in the ledger’s history, and check it in this
                  browser against the members you trust.
                </p>
                <Link className="btn btn-primary" href={`/explorer/verify?tx=${txId}`}>
                  Check the proof
                </Link>
              </section>
            </div>
          );
        }}
      </AsyncView>
    </>
  );
}

/** A transaction whose content this visitor may not read: where it is, its result, and its proof. */
function PrivateTx({ c }: { c: TxView }) {
  const r = resultText(c.code);
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="what-title">
        <h2 id="what-title">A private transaction</h2>
        <p>
          Its content is private: only the company it concerns and the customer who signed it may read it (a customer
          sees all of their own in the portal after signing in). Where it is in the ledger and its result are public.
        </p>
        <p>
          <Badge tone={r.tone}>{r.text}</Badge>
        </p>
        <dl className="facts">
          <dt>In block</dt>
          <dd>
            <Link href={`/explorer/block/${c.height}`}>Block {count(c.height)}</Link>, position {c.index + 1}
          </dd>
          <dt>History entry</dt>
          <dd>{count(c.logIndex + 1)}</dd>
          <dt>Id</dt>
          <dd>
            <code>{c.txId}</code>
          </dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="incl-title">
        <h2 id="incl-title">Is it really on the ledger?</h2>
        <p className="muted">
          Ask the node for a proof that this transaction is in the ledger’s history, and check it in this browser
          against the members you trust.
        </p>
        <Link className="btn btn-primary" href={`/explorer/verify?tx=${c.txId}`}>
          Check the proof
        </Link>
      </section>
    </div>
  );
}

/** The id of the cross-chain transaction an `xtx.*` transaction carries, if it parses. */
function xtxIdFrom(tx: SignedTx): string | undefined {
  if (!tx.body.type.startsWith('xtx.')) return undefined;
  try {
    return xtxIdOf(parseCrossChainTx(tx.body.args.xtx));
  } catch {
    return undefined;
  }
}
