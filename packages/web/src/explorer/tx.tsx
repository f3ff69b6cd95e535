/** One transaction of the explorer: what it did in words, who signed, its result, and its proof. */

import type { TxView } from '@custos/sdk';
import { resultText, typeText } from '@custos/sdk/views';
import { useMemo, useState } from 'react';
import { consoleToken, readerClient } from '../lib/api.js';
import { count, dateTime, short } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { ChainContext } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, PageHead } from '../ui/ui.js';
import { crumbs, signerText, txSentence } from './common.js';
import { ContractTx, isContractTx } from './contract-tx.js';
import { xtxIdFrom } from './xtx-evm.js';

export function TxPage({ ctx, txId }: { ctx: ChainContext; txId: string }) {
  // Public by default; a visitor signed in to the console in this tab may read as that org.
  const [asMember, setAsMember] = useState(false);
  const api = useMemo(() => readerClient(asMember), [asMember]);
  const tx = useAsync((signal) => api.tx(txId, { signal }), [txId, api]);
  const t = ctx.trust;
  return (
    <>
      <PageHead title="Transaction" crumbs={crumbs('Transaction')} />
      <AsyncView state={tx} loading="Loading the transaction…">
        {(c) => {
          const r = resultText(c.code);
          if (c.tx === undefined)
            return <PrivateTx c={c} onReadAsMember={asMember ? undefined : () => setAsMember(true)} />;
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
              {isContractTx(tx) && <ContractTx api={api} tx={tx} txId={txId} trust={t} />}
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
function PrivateTx({ c, onReadAsMember }: { c: TxView; onReadAsMember: (() => void) | undefined }) {
  const r = resultText(c.code);
  const pruned = c.pruned === true;
  const signedIn = !pruned && onReadAsMember !== undefined && consoleToken() !== undefined;
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="what-title">
        <h2 id="what-title">{pruned ? 'Pruned after erasure' : 'A private transaction'}</h2>
        {pruned ? (
          <p>
            The customer it concerned was erased, and every peer deleted its content: nobody can read it any more. Its
            id, its place in the ledger and its result stay, so the proofs that cover it still hold.
          </p>
        ) : (
          <p>
            Its content is private: only the company it concerns and the customer who signed it may read it (a customer
            sees all of their own in the portal after signing in). Where it is in the ledger and its result are public.
          </p>
        )}
        <p>
          <Badge tone={r.tone}>{r.text}</Badge>
        </p>
        {signedIn && (
          <p>
            <button type="button" className="btn btn-small" onClick={onReadAsMember}>
              Read it as your organisation
            </button>{' '}
            <span className="muted small">You are signed in to the company console in this tab.</span>
          </p>
        )}
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
