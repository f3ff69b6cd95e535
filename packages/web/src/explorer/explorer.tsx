/**
 * The explorer: the chain and the members it is checked against, the latest checkpoint and its
 * quorum certificate (verified here), blocks, transactions with their result codes in words, and a
 * proof checker that verifies any proof in this browser.
 */
import type { QuorumCertificate } from '@custos/protocol/ledger';
import type { BlockView } from '@custos/sdk';
import { typeText } from '@custos/sdk/views';
import { type FormEvent, useId } from 'react';
import { client } from '../lib/api.js';
import { count, dateTime, list, short } from '../lib/format.js';
import { useLiveHeight } from '../lib/live.js';
import { Link, match, navigate, useLocation } from '../lib/router.js';
import { type ChainContext, loadChain, type PinnedTrust } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, ErrorBox, Notice, PageHead, Proof } from '../ui/ui.js';
import { BlockPage } from './block.js';
import { checkCertificate, summarize } from './common.js';
import { TxPage } from './tx.js';
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
