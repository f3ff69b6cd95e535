/**
 * The proof checker: any proof bundle (inclusion, consistency, state), pasted, opened from a file,
 * or fetched for a transaction, verified in this browser against the members this browser trusts.
 */
import { nobleVerifier } from '@custos/protocol/crypto';
import { type ProofBundle, type VerifiedFact, verifyProofBundle } from '@custos/protocol/ledger';
import { orgName, orgOfKey, resultText } from '@custos/sdk/views';
import { type ChangeEvent, type FormEvent, useEffect, useId, useState } from 'react';
import { client, errorText } from '../lib/api.js';
import { count, list, short } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { type ChainContext, membersAt, type PinnedTrust, trustedMembers } from '../lib/trust.js';
import { Loading, Notice, PageHead } from '../ui/ui.js';

type Outcome =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'proven'; fact: VerifiedFact; bundle: unknown }
  | { state: 'failed'; error: unknown; bundle?: unknown };

const MAX_PASTE = 1024 * 1024;

/** Fetches the proof a link names: `?tx=`, `?key=`, `?from=&to=`, or `?url=/v1/proofs/...` (this node only). */
async function proofFromQuery(q: URLSearchParams): Promise<ProofBundle | undefined> {
  let params = q;
  let kind: 'inclusion' | 'state' | 'consistency' | undefined;
  let txId = q.get('tx') ?? undefined;
  const url = q.get('url');
  if (url !== null) {
    const u = new URL(url, window.location.origin);
    if (u.origin !== window.location.origin) throw new Error('Only proofs from this node can be fetched by link.');
    params = u.searchParams;
    const m = /^\/v1\/proofs\/(inclusion\/([0-9a-f]{64})|state|consistency)$/.exec(u.pathname);
    if (m === null) throw new Error('The link is not a proof address of this node (/v1/proofs/...).');
    kind = m[2] !== undefined ? 'inclusion' : (m[1] as 'state' | 'consistency');
    txId = m[2];
  } else if (txId !== undefined) kind = 'inclusion';
  else if (q.get('key') !== null) kind = 'state';
  else if (q.get('from') !== null) kind = 'consistency';
  if (kind === 'inclusion' && txId !== undefined) {
    const h = params.get('height');
    return client.inclusionProof(txId, h === null ? {} : { height: Number(h) });
  }
  if (kind === 'state') return client.stateProof(params.get('key') ?? '');
  if (kind === 'consistency') return client.consistencyProof(Number(params.get('from')), Number(params.get('to')));
  return undefined;
}

export function ProofChecker({ ctx, query }: { ctx: ChainContext; query: URLSearchParams }) {
  const id = useId();
  const [text, setText] = useState('');
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const trust = ctx.trust;

  const check = (bundle: unknown) => {
    try {
      const fact = verifyProofBundle(bundle, trustedMembers(trust), nobleVerifier, trust.chainId);
      setOutcome({ state: 'proven', fact, bundle });
    } catch (error) {
      setOutcome({ state: 'failed', error, bundle });
    }
  };

  const qs = query.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once per link
  useEffect(() => {
    const q = new URLSearchParams(qs);
    if (q.size === 0) return;
    setOutcome({ state: 'loading' });
    proofFromQuery(q).then(
      (b) => {
        if (b === undefined) {
          setOutcome({ state: 'idle' });
          return;
        }
        setText(JSON.stringify(b, null, 2));
        check(b);
      },
      (error: unknown) => setOutcome({ state: 'failed', error }),
    );
  }, [qs]);

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (text.length > MAX_PASTE) {
      setOutcome({ state: 'failed', error: new Error('This is larger than any proof (1 MB).') });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      setOutcome({ state: 'failed', error: new Error('This is not JSON: paste the whole proof file.') });
      return;
    }
    check(parsed);
  };

  const open = async (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    if (f === undefined) return;
    if (f.size > MAX_PASTE) {
      setOutcome({ state: 'failed', error: new Error('This file is larger than any proof (1 MB).') });
      return;
    }
    setText(await f.text());
    setOutcome({ state: 'idle' });
  };

  return (
    <>
      <PageHead
        title="Check a proof"
        crumbs={
          <>
            <Link href="/explorer">Explorer</Link> › Check a proof
          </>
        }
      >
        <p>
          A proof shows that something is in the ledger (a transaction, a value, an unchanged history) without trusting
          the node that sent it. It is checked here, in your browser, against the members of{' '}
          <code>{trust.chainId}</code>: {list(trust.members.map((m) => m.name))}.
        </p>
      </PageHead>
      <div className="stack-lg">
        <div aria-live="polite">
          {outcome.state === 'loading' && <Loading label="Fetching the proof…" />}
          {outcome.state === 'proven' && <Proven fact={outcome.fact} bundle={outcome.bundle} trust={trust} />}
          {outcome.state === 'failed' && (
            <Notice tone="danger" title="Not proven">
              <p>{errorText(outcome.error)}</p>
              <p className="small">Do not rely on what this proof claims.</p>
            </Notice>
          )}
        </div>
        <form className="card" onSubmit={submit}>
          <div className="field">
            <label htmlFor={`${id}-proof`}>Proof</label>
            <textarea
              id={`${id}-proof`}
              value={text}
              onChange={(e) => setText(e.target.value)}
              spellCheck={false}
              aria-describedby={`${id}-hint`}
              placeholder='{"type": "custos/inclusion/v2", ...}'
            />
            <span id={`${id}-hint`} className="hint">
              Paste a proof file (from “custos proof”, a download here, or anyone else), or open one.
            </span>
          </div>
          <div className="field">
            <label htmlFor={`${id}-file`}>Or open a proof file</label>
            <input id={`${id}-file`} type="file" accept="application/json,.json" onChange={open} />
          </div>
          <button type="submit" className="btn btn-primary" disabled={text.trim().length === 0}>
            Check it
          </button>
        </form>
        <TxLookup />
      </div>
    </>
  );
}

function TxLookup() {
  const id = useId();
  const [error, setError] = useState<string>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget).get('tx') ?? '')
      .trim()
      .toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(v)) {
      setError('A transaction id is 64 characters of 0-9 and a-f.');
      return;
    }
    setError(undefined);
    window.location.assign(`/explorer/verify?tx=${v}`);
  };
  return (
    <form className="card" onSubmit={submit}>
      <h2>Get the proof of a transaction</h2>
      <div className="field">
        <label htmlFor={`${id}-tx`}>Transaction id</label>
        <input id={`${id}-tx`} name="tx" type="text" spellCheck={false} autoComplete="off" />
        {error !== undefined && (
          <span className="hint" role="alert">
            {errorText(new Error(error))}
          </span>
        )}
      </div>
      <button type="submit" className="btn">
        Fetch and check
      </button>
    </form>
  );
}

function certText(trust: PinnedTrust, bundle: unknown): string {
  type Cert = { checkpoint?: { height?: number }; signatures?: { signer: string }[] };
  const b = bundle as { certificate?: Cert; to?: Cert };
  const cert = b.certificate ?? b.to;
  const sigs = cert?.signatures ?? [];
  const names = sigs.map((s) => orgName(trust, orgOfKey(trust, s.signer) ?? '?'));
  const set = membersAt(trust, cert?.checkpoint?.height);
  return `signed by ${list(names)} (${set.threshold} of ${set.members.length} needed)`;
}

function Proven({ fact, bundle, trust }: { fact: VerifiedFact; bundle: unknown; trust: PinnedTrust }) {
  let sentence: string;
  if (fact.kind === 'inclusion') {
    const r = resultText(fact.entry.code);
    sentence = `Transaction ${short(fact.entry.txId, 16)} is entry ${count(fact.leafIndex + 1)} of the ledger’s history, recorded in block ${count(fact.entry.height)} with the result “${r.text}”. Checked against the checkpoint of block ${count(fact.height)}, ${certText(trust, bundle)}.`;
  } else if (fact.kind === 'consistency') {
    sentence = `The ledger’s history at block ${count(fact.toHeight)} (${count(fact.toSize)} entries) extends its history at block ${count(fact.fromHeight)} (${count(fact.fromSize)} entries) without changing or removing anything. Both checkpoints ${certText(trust, bundle)}.`;
  } else {
    sentence =
      fact.value === null
        ? `At block ${count(fact.height)}, the ledger holds nothing under “${fact.key}”: the proof shows it is absent. ${certText(trust, bundle).replace(/^./, (c) => c.toUpperCase())}.`
        : `At block ${count(fact.height)}, the ledger holds exactly this value under “${fact.key}”. ${certText(trust, bundle).replace(/^./, (c) => c.toUpperCase())}.`;
  }
  return (
    <Notice tone="ok" title="Proven">
      <p>{sentence}</p>
      {fact.kind === 'inclusion' && (
        <p>
          <Link href={`/explorer/tx/${fact.entry.txId}`}>See the transaction</Link>
        </p>
      )}
      {fact.kind === 'state' && fact.value !== null && (
        <details className="disclosure">
          <summary>Show the value</summary>
          <pre className="raw-json">{JSON.stringify(fact.value, null, 2)}</pre>
        </details>
      )}
    </Notice>
  );
}
