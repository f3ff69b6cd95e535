/**
 * The EVM legs of a cross-chain transaction (docs/interop.md), as the decision chain holds them:
 * the contract's vote (proven on the ledger with a receipts-trie proof against an EVM block the
 * members attested), the decision the members certified with their EVM keys, and what the
 * contract did (proven the same way). The members' certificate is checked in this browser, as the
 * contract checks it: each signature recovers to an address of the EVM member set, enough of them.
 * Shown by the explorer's cross-chain page and by the customer's portal.
 */
import { parseCrossChainTx, parseEvmParticipant, verifyEvmCertificate, xtxIdOf } from '@custos/protocol/interop';
import type { SignedTx } from '@custos/protocol/ledger';
import { client } from '../lib/api.js';
import { count, short } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge } from '../ui/ui.js';

interface EvmVote {
  participant: string;
  vote: 'YES' | 'NO';
  deadline: number;
  number: number;
  blockHash: string;
  index: number;
  height: number;
}

interface EvmDecision {
  participant: string;
  /** The planned leg's hash: the lock the members' signatures decide (decision digest v2). */
  legHash: string;
  commit: boolean;
  epoch: number;
  threshold: number;
  signatures: { member: string; address: string; signature: string }[];
  height: number;
  outcome?: { status: 'committed' | 'aborted' | 'lapsed'; number: number; index: number; height: number };
}

interface EvmHeader {
  hash: string;
  attestedBy: string[];
}

export interface EvmLegView {
  participant: string;
  evmChainId: number;
  contract: string;
  vote: EvmVote | undefined;
  voteHeader: EvmHeader | undefined;
  decision: EvmDecision | undefined;
  /** The members' certificate checked here: undefined before any, else ok or what is wrong. */
  check: { ok: true } | { ok: false; why: string } | undefined;
}

const OUTCOME = {
  committed: { text: 'Paid on the EVM chain', tone: 'ok' },
  aborted: { text: 'Returned on the EVM chain', tone: 'neutral' },
  lapsed: { text: 'Lapsed: returned after its deadline', tone: 'danger' },
} as const;

async function entries<T>(prefix: string, signal: AbortSignal): Promise<{ key: string; value: T }[]> {
  const page = await client.state({ prefix, limit: 16 }, { signal });
  return page.entries.map((e) => ({ key: e.key, value: e.value as unknown as T }));
}

async function one<T>(key: string, signal: AbortSignal): Promise<T | undefined> {
  return (await entries<T>(key, signal)).find((e) => e.key === key)?.value;
}

/** Every EVM leg of `xtxId` the ledger holds, with the certificate checked. */
export async function loadEvmLegs(xtxId: string, signal: AbortSignal): Promise<EvmLegView[]> {
  const [votes, decisions] = await Promise.all([
    entries<EvmVote>(`xtxevm/${xtxId}/`, signal),
    entries<EvmDecision>(`xtxevmd/${xtxId}/`, signal),
  ]);
  const ids = [...new Set([...votes, ...decisions].map((e) => e.value.participant))].sort();
  const set = await one<{ epoch: number; addresses: string[]; threshold: number }>('gov/evm-memberset', signal);
  return Promise.all(
    ids.map(async (participant): Promise<EvmLegView> => {
      const { evmChainId, contract } = parseEvmParticipant(participant);
      const vote = votes.find((e) => e.value.participant === participant)?.value;
      const decision = decisions.find((e) => e.value.participant === participant)?.value;
      const voteHeader =
        vote === undefined ? undefined : await one<EvmHeader>(`evmhdr/${evmChainId}/${vote.number}`, signal);
      return { participant, evmChainId, contract, vote, voteHeader, decision, check: checkOf(decision, set) };
    }),
  );

  function checkOf(
    d: EvmDecision | undefined,
    members: { epoch: number; addresses: string[]; threshold: number } | undefined,
  ): EvmLegView['check'] {
    if (d === undefined || d.signatures.length < d.threshold) return undefined;
    if (members === undefined || members.epoch !== d.epoch)
      return { ok: false, why: 'the EVM member set has moved on since' };
    const { evmChainId, contract } = parseEvmParticipant(d.participant);
    try {
      verifyEvmCertificate(
        { chainId: evmChainId, contract },
        {
          xtxId,
          legHash: d.legHash,
          commit: d.commit,
          epoch: d.epoch,
          signatures: d.signatures.map((s) => s.signature as `0x${string}`),
        },
        members,
      );
      return { ok: true };
    } catch (e) {
      return { ok: false, why: (e as Error).message };
    }
  }
}

/** The id of the cross-chain transaction an `xtx.*` transaction carries, if it parses. */
export function xtxIdFrom(tx: SignedTx): string | undefined {
  if (!tx.body.type.startsWith('xtx.')) return undefined;
  try {
    return xtxIdOf(parseCrossChainTx(tx.body.args.xtx));
  } catch {
    return undefined;
  }
}

/**
 * The EVM legs of one cross-chain transaction, each in words with its proofs: a section titled
 * `title` (heading level `level`), or nothing when the transaction has no EVM leg.
 */
export function EvmLegs({
  xtxId,
  refresh,
  title,
  level = 2,
}: {
  xtxId: string;
  refresh: number;
  title: string;
  level?: 2 | 3;
}) {
  const legs = useAsync((signal) => loadEvmLegs(xtxId, signal), [xtxId, refresh]);
  const H = level === 2 ? 'h2' : 'h3';
  const id = `evm-${xtxId.slice(0, 12)}`;
  return (
    <AsyncView state={legs} loading="Reading the EVM side…">
      {(list) =>
        list.length === 0 ? null : (
          <section className={level === 2 ? 'card' : 'mt-3'} aria-labelledby={id}>
            <H id={id}>{title}</H>
            <ul className="plain-list item-list">
              {list.map((l) => (
                <li key={l.participant}>
                  <EvmLeg leg={l} />
                </li>
              ))}
            </ul>
          </section>
        )
      }
    </AsyncView>
  );
}

function EvmLeg({ leg }: { leg: EvmLegView }) {
  const out = leg.decision?.outcome;
  return (
    <div className="stack">
      <p>
        <strong>On EVM chain {leg.evmChainId}</strong>, contract <code className="break-all">{leg.contract}</code>{' '}
        {out === undefined ? (
          <Badge tone="neutral">Not finished yet</Badge>
        ) : (
          <Badge tone={OUTCOME[out.status].tone}>{OUTCOME[out.status].text}</Badge>
        )}
      </p>
      <dl className="facts">
        <dt>Vote of the contract</dt>
        <dd>
          {leg.vote === undefined ? (
            'Not proven yet'
          ) : (
            <>
              {leg.vote.vote === 'YES' ? 'Yes: the tokens are locked' : 'No: the token refused the transfer'}, in EVM
              block {count(leg.vote.number)} (transaction {leg.vote.index + 1} of it), proven on this ledger at{' '}
              <Link href={`/explorer/block/${leg.vote.height}`}>block {count(leg.vote.height)}</Link> with a
              receipts-trie proof against that block’s header
              {leg.voteHeader !== undefined && (
                <>
                  {' '}
                  <code>{short(leg.voteHeader.hash, 10)}</code>, attested by {leg.voteHeader.attestedBy.length} members
                </>
              )}
            </>
          )}
        </dd>
        <dt>Decision for the contract</dt>
        <dd>
          {leg.decision === undefined ? (
            'Not decided yet'
          ) : (
            <>
              {leg.decision.commit ? 'Commit' : 'Abort'}, signed by {leg.decision.signatures.length} members’ EVM keys (
              {leg.decision.threshold} needed)
              {leg.check !== undefined && (
                <>
                  {' '}
                  {leg.check.ok ? (
                    <Badge tone="ok">Checked in this browser</Badge>
                  ) : (
                    <Badge tone="danger">Check failed: {leg.check.why}</Badge>
                  )}
                </>
              )}
            </>
          )}
        </dd>
        {out !== undefined && (
          <>
            <dt>What the contract did</dt>
            <dd>
              {OUTCOME[out.status].text}, in EVM block {count(out.number)}, proven on this ledger at{' '}
              <Link href={`/explorer/block/${out.height}`}>block {count(out.height)}</Link>
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
