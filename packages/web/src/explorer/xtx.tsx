/**
 * Cross-chain transactions known to this ledger (ADR 0008): this chain's vote and where it stands
 * (`xtx/<id>`), the decision when this chain is the one that records it (`xtxd/<id>`), and the
 * participants, read from the transaction that prepared it here. All said in words.
 */
import {
  type CrossChainTx,
  parseCrossChainTx,
  type XtxDecisionRecord,
  type XtxVoteRecord,
} from '@custos/protocol/interop';
import type { CustosClient } from '@custos/sdk';
import { typeText } from '@custos/sdk/views';
import { client } from '../lib/api.js';
import { count, list, short } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { ChainContext } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { XTX_STATUS, xtxReasonText } from '../lib/words.js';
import { AsyncView, Badge, Empty, PageHead } from '../ui/ui.js';
import { EvmLegs } from './xtx-evm.js';

const MAX = 200;

export interface XtxView {
  id: string;
  vote: XtxVoteRecord | undefined;
  decision: XtxDecisionRecord | undefined;
  body: CrossChainTx | undefined;
  /** preparing, refused, decided, committed or aborted. */
  state: keyof typeof XTX_STATUS;
}

function stateOf(vote: XtxVoteRecord | undefined, decision: XtxDecisionRecord | undefined): XtxView['state'] {
  if (vote?.status === 'committed' || vote?.status === 'aborted') return vote.status;
  if (decision !== undefined) return 'decided';
  if (vote?.status === 'refused') return 'refused';
  return 'preparing';
}

/** The decision as this ledger knows it: recorded here, or implied by how it was applied here. */
function decisionOf(x: XtxView): 'COMMIT' | 'ABORT' | undefined {
  if (x.decision !== undefined) return x.decision.decision;
  if (x.vote?.status === 'committed') return 'COMMIT';
  if (x.vote?.status === 'aborted') return 'ABORT';
  return undefined;
}

async function bodyOf(
  api: CustosClient,
  prepareTx: string | null,
  signal: AbortSignal,
): Promise<CrossChainTx | undefined> {
  if (prepareTx === null) return undefined;
  try {
    const t = await api.tx(prepareTx, { signal });
    // The body is for members of that chain: a visitor sees the votes and the decision, not the operations.
    if (t.tx === undefined) return undefined;
    return parseCrossChainTx(t.tx.body.args.xtx);
  } catch {
    return undefined;
  }
}

async function loadAll(signal: AbortSignal): Promise<{ items: XtxView[]; more: boolean }> {
  const [votes, decisions] = await Promise.all([
    client.state({ prefix: 'xtx/', limit: MAX }, { signal }),
    client.state({ prefix: 'xtxd/', limit: MAX }, { signal }),
  ]);
  const byId = new Map<string, XtxView>();
  const entry = (id: string) => {
    let v = byId.get(id);
    if (v === undefined) {
      v = { id, vote: undefined, decision: undefined, body: undefined, state: 'preparing' };
      byId.set(id, v);
    }
    return v;
  };
  for (const e of votes.entries) entry(e.key.slice(4)).vote = e.value as unknown as XtxVoteRecord;
  for (const e of decisions.entries) entry(e.key.slice(5)).decision = e.value as unknown as XtxDecisionRecord;
  const items = [...byId.values()];
  await Promise.all(
    items.map(async (x) => {
      x.state = stateOf(x.vote, x.decision);
      x.body = await bodyOf(client, x.vote?.prepareTx ?? null, signal);
    }),
  );
  const at = (x: XtxView) => x.vote?.preparedAt ?? x.decision?.height ?? x.vote?.finalizedAt ?? 0;
  items.sort((a, b) => at(b) - at(a) || (a.id < b.id ? -1 : 1));
  return { items, more: votes.next !== null || decisions.next !== null };
}

function voteText(v: XtxVoteRecord | undefined): string {
  if (v === undefined) return 'Not a participant here';
  if (v.vote === 'YES') return 'Yes';
  if (v.vote === 'NO') return 'No';
  return 'None (aborted before it was prepared)';
}

function decisionText(x: XtxView): string {
  const d = decisionOf(x);
  if (d === undefined) {
    return x.body === undefined ? 'Not known yet' : `Not known yet (recorded by ${x.body.decisionChain})`;
  }
  const what = d === 'COMMIT' ? 'Commit' : 'Abort';
  return x.decision === undefined ? what : `${what}: ${xtxReasonText(x.decision.reason)}`;
}

function crumbs(here: string) {
  return (
    <>
      <Link href="/explorer">Explorer</Link> › {here}
    </>
  );
}

export function XtxListPage({ ctx }: { ctx: ChainContext }) {
  const all = useAsync((signal) => loadAll(signal), [ctx.chain.height]);
  return (
    <>
      <PageHead title="Cross-chain transactions" crumbs={crumbs('Cross-chain')}>
        <p>
          Changes made on several ledgers at once: each ledger votes, one of them records the decision, and each applies
          it, or none does. These are the ones this ledger (<code>{ctx.chain.chainId}</code>) takes part in.
        </p>
      </PageHead>
      <AsyncView state={all} loading="Reading cross-chain transactions…">
        {({ items, more }) =>
          items.length === 0 ? (
            <Empty title="No cross-chain transaction yet.">
              <p>When this ledger takes part in a change made with another ledger, it appears here.</p>
            </Empty>
          ) : (
            <>
              <div className="table-wrap">
                <table className="responsive">
                  <thead>
                    <tr>
                      <th scope="col">Transaction</th>
                      <th scope="col">Ledgers</th>
                      <th scope="col">Vote here</th>
                      <th scope="col">Decision</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((x) => {
                      const s = XTX_STATUS[x.state]!;
                      return (
                        <tr key={x.id}>
                          <td data-label="Transaction">
                            <Link href={`/explorer/xtx/${x.id}`}>
                              <code>{short(x.id, 12)}</code>
                            </Link>
                          </td>
                          <td data-label="Ledgers">{x.body === undefined ? '—' : list(x.body.participants)}</td>
                          <td data-label="Vote here">{voteText(x.vote)}</td>
                          <td data-label="Decision">{decisionText(x)}</td>
                          <td data-label="State">
                            <Badge tone={s.tone}>{s.text}</Badge>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              {more && <p className="muted small mt-3">Showing the first {MAX}.</p>}
            </>
          )
        }
      </AsyncView>
    </>
  );
}

export function XtxPage({ ctx, id }: { ctx: ChainContext; id: string }) {
  const one = useAsync(
    async (signal) => {
      const get = async <T,>(key: string): Promise<T | undefined> => {
        const page = await client.state({ prefix: key, limit: 1 }, { signal });
        const e = page.entries.find((x) => x.key === key);
        return e === undefined ? undefined : (e.value as unknown as T);
      };
      const [vote, decision] = await Promise.all([
        get<XtxVoteRecord>(`xtx/${id}`),
        get<XtxDecisionRecord>(`xtxd/${id}`),
      ]);
      const body = await bodyOf(client, vote?.prepareTx ?? null, signal);
      const x: XtxView = { id, vote, decision, body, state: stateOf(vote, decision) };
      return x;
    },
    [id, ctx.chain.height],
  );
  return (
    <>
      <PageHead title="Cross-chain transaction" crumbs={crumbs('Cross-chain transaction')} />
      <AsyncView state={one} loading="Reading the cross-chain transaction…">
        {(x) => {
          if (x.vote === undefined && x.decision === undefined) {
            return (
              <Empty title="This ledger knows nothing of it.">
                <p>
                  No vote or decision for <code className="break-all">{id}</code> on {ctx.chain.chainId}.{' '}
                  <Link href="/explorer/xtx">All cross-chain transactions</Link>.
                </p>
              </Empty>
            );
          }
          const s = XTX_STATUS[x.state]!;
          const here = x.body?.ops[ctx.chain.chainId] ?? [];
          return (
            <div className="stack-lg">
              <section className="card" aria-labelledby="xtx-title">
                <h2 id="xtx-title">
                  {x.body === undefined ? 'Between ledgers' : `Between ${list(x.body.participants)}`}
                </h2>
                <p>
                  <Badge tone={s.tone}>{s.text}</Badge>
                </p>
                <dl className="facts">
                  <dt>Vote of {ctx.chain.chainId}</dt>
                  <dd>
                    {voteText(x.vote)}
                    {x.vote?.reason != null && <span className="muted"> — “{x.vote.reason}”</span>}
                  </dd>
                  <dt>Decision</dt>
                  <dd>{decisionText(x)}</dd>
                  {x.body !== undefined && (
                    <>
                      <dt>Decided by</dt>
                      <dd>
                        {x.body.decisionChain}, commit possible until its block {count(x.body.deadlineHeight)}
                      </dd>
                    </>
                  )}
                  {x.decision !== undefined && (
                    <>
                      <dt>Decision recorded</dt>
                      <dd>
                        <Link href={`/explorer/block/${x.decision.height}`}>Block {count(x.decision.height)}</Link>
                      </dd>
                    </>
                  )}
                  {x.vote?.prepareTx != null && (
                    <>
                      <dt>Prepared here</dt>
                      <dd>
                        <Link href={`/explorer/tx/${x.vote.prepareTx}`}>
                          Block {count(x.vote.preparedAt ?? 0)}, transaction {short(x.vote.prepareTx, 10)}
                        </Link>
                      </dd>
                    </>
                  )}
                  {x.vote?.finalizedAt != null && (
                    <>
                      <dt>Applied here</dt>
                      <dd>
                        <Link href={`/explorer/block/${x.vote.finalizedAt}`}>Block {count(x.vote.finalizedAt)}</Link>
                      </dd>
                    </>
                  )}
                  <dt>Id</dt>
                  <dd>
                    <code className="break-all">{x.id}</code>
                  </dd>
                </dl>
              </section>
              <EvmLegs xtxId={x.id} refresh={ctx.chain.height} title="On the EVM chain" />
              {x.body !== undefined && (
                <section className="card" aria-labelledby="ops-title">
                  <h2 id="ops-title">What it does</h2>
                  <ul className="plain-list item-list">
                    {x.body.participants.map((chain) => (
                      <li key={chain}>
                        <strong>On {chain}</strong>
                        {chain === ctx.chain.chainId && <Badge tone="accent">This ledger</Badge>}:{' '}
                        {list((x.body?.ops[chain] ?? []).map((t) => typeText(t.body.type).toLowerCase())) || 'nothing'}
                      </li>
                    ))}
                  </ul>
                  {here.length > 0 && (
                    <details className="disclosure mt-4">
                      <summary>Show the whole cross-chain transaction</summary>
                      <pre className="raw-json">{JSON.stringify(x.body, null, 2)}</pre>
                    </details>
                  )}
                </section>
              )}
            </div>
          );
        }}
      </AsyncView>
    </>
  );
}
