/**
 * How the relayer reaches a chain: the `ChainEndpoint` interface, over a peer in the same process
 * (`nodeEndpoint`) or over a node's HTTP API (`httpEndpoint`).
 */
import { ProtocolError } from '@custos/protocol/errors';
import type { JsonValue } from '@custos/protocol/jcs';
import type { MemberSetUpdate, SignedTx, StateBundle } from '@custos/protocol/ledger';
import { isProtocolCode, NODE_ERROR_CODES, NodeError, type NodeErrorCode } from '../errors.js';
import { memberSetUpdates } from '../governance/epochs.js';
import type { CustosNode } from '../node.js';
import { stateProof } from '../proofs.js';

/** What a relayer needs from one chain: reads, a certified state proof, and submission. */
export interface ChainEndpoint {
  /** For messages: a URL or a name. */
  readonly label: string;
  info(): Promise<{ chainId: string; height: number }>;
  /** A state value, or null when absent. */
  entry(key: string): Promise<JsonValue | null>;
  list(prefix: string, after: string | undefined, limit: number): Promise<{ key: string; value: JsonValue }[]>;
  /** A state proof of `key` against the chain's latest quorum certificate. */
  stateProof(key: string): Promise<StateBundle>;
  /** A committed transaction, or null. */
  tx(txId: string): Promise<SignedTx | null>;
  /** Submits and waits for the commit; resolves with the result code. */
  submit(tx: SignedTx): Promise<{ txId: string; code: string }>;
  /** The chain's certified member-set updates from epoch `from` (one page). */
  memberEpochs?(from: number): Promise<MemberSetUpdate[]>;
  /**
   * Resolves once the chain's height is above `height` (at once if it already is), or when
   * `signal` aborts: a loop waits for new state rather than for a timer. Absent: poll.
   */
  nextBlock?(height: number, signal: AbortSignal): Promise<void>;
}

/** An in-process endpoint over a running peer (tests, benchmarks, a relayer embedded in a node). */
export function nodeEndpoint(node: CustosNode, label = `node:${node.chainId}`): ChainEndpoint {
  const waiting = new Set<() => void>();
  const onBlock = () => {
    for (const done of [...waiting]) done();
  };
  return {
    label,
    async info() {
      return { chainId: node.chainId, height: node.latest().height };
    },
    async entry(key) {
      const text = node.store.getState(key);
      return text === undefined ? null : (JSON.parse(text) as JsonValue);
    },
    async list(prefix, after, limit) {
      return node.store.listState(prefix, after, limit).map((r) => ({ key: r.key, value: JSON.parse(r.value) }));
    },
    async stateProof(key) {
      return stateProof(node, key);
    },
    async tx(txId) {
      return node.store.getTx(txId)?.tx ?? null;
    },
    async submit(tx) {
      const r = await node.submitAndWait(tx);
      return { txId: r.txId, code: r.code };
    },
    async memberEpochs(from) {
      return memberSetUpdates(node, { from, limit: 256 });
    },
    nextBlock(height, signal) {
      return new Promise<void>((resolve) => {
        if (node.latest().height > height || signal.aborted) return resolve();
        const done = () => {
          waiting.delete(done);
          if (waiting.size === 0) node.off('block', onBlock);
          signal.removeEventListener('abort', done);
          resolve();
        };
        // One listener on the node for every loop waiting through this endpoint.
        if (waiting.size === 0) node.on('block', onBlock);
        waiting.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}

const HTTP_TIMEOUT_MS = 40_000;

/**
 * An endpoint over a node's HTTP API (`GET /v1/chain`, `/v1/state`, `/v1/proofs/state`, `POST /v1/txs`).
 * The open cross-chain transactions (`xtxopen/`) and their bodies are for the consortium's members
 * (docs/api.md, "Read access"): `token` is an API token of a member of that chain with `read`.
 */
export function httpEndpoint(baseUrl: string, opts: { token?: string } = {}): ChainEndpoint {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new NodeError('BAD_REQUEST', `expected a chain URL like http://127.0.0.1:7070, got '${baseUrl}'`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NodeError('BAD_REQUEST', `expected an http(s) chain URL, got '${baseUrl}'`);
  }
  const base = url.href.replace(/\/+$/, '');
  const request = async <T>(path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          ...(body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' }),
          ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new NodeError('NODE_UNREACHABLE', `no node answers at ${base}`, { cause });
    }
    const text = await res.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new NodeError('INTERNAL', `expected JSON from ${base}${path.split('?')[0]}, got HTTP ${res.status}`);
    }
    if (!res.ok) throw problemError(res.status, doc);
    return doc as T;
  };
  return {
    label: base,
    async info() {
      const c = await request<{ chainId: string; height: number }>('/v1/chain');
      return { chainId: c.chainId, height: c.height };
    },
    async entry(key) {
      try {
        return (await request<{ value: JsonValue }>(`/v1/state/entry?${new URLSearchParams({ key })}`)).value;
      } catch (e) {
        if (e instanceof NodeError && e.code === 'NOT_FOUND') return null;
        throw e;
      }
    },
    async list(prefix, after, limit) {
      const q = new URLSearchParams({ prefix, limit: String(limit), ...(after === undefined ? {} : { after }) });
      return (await request<{ entries: { key: string; value: JsonValue }[] }>(`/v1/state?${q}`)).entries;
    },
    async stateProof(key) {
      return request<StateBundle>(`/v1/proofs/state?${new URLSearchParams({ key })}`);
    },
    async tx(txId) {
      try {
        return (await request<{ tx: SignedTx }>(`/v1/txs/${encodeURIComponent(txId)}`)).tx;
      } catch (e) {
        if (e instanceof NodeError && e.code === 'NOT_FOUND') return null;
        throw e;
      }
    },
    async submit(tx) {
      const r = await request<{ txId: string; code: string }>('/v1/txs?wait=true', tx);
      return { txId: r.txId, code: r.code };
    },
    async memberEpochs(from) {
      return (await request<{ updates: MemberSetUpdate[] }>(`/v1/members/epochs?from=${from}`)).updates;
    },
    async nextBlock(height, signal) {
      // The node's block stream from `height` on: its first event is the next block. A node that
      // cannot be reached leaves the wait to the caller's timer (a relayer's `--interval`).
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await fetch(`${base}/v1/events/blocks?after=${height}`, {
          headers: { accept: 'text/event-stream' },
          signal: stop.signal,
        });
        if (!res.ok || res.body === null) return await untilAborted(signal);
        const reader = res.body.getReader();
        let seen = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return await untilAborted(signal);
          // Only the start of the stream is kept: the first event line is all it waits for.
          seen = (seen + new TextDecoder().decode(value)).slice(-4096);
          if (/^event: block$/m.test(seen)) return;
        }
      } catch {
        if (!signal.aborted) await untilAborted(signal);
      } finally {
        signal.removeEventListener('abort', onAbort);
        stop.abort();
      }
    },
  };
}

/** Resolves when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function problemError(status: number, doc: unknown): Error {
  const { code, detail } = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const message = typeof detail === 'string' ? detail : `HTTP ${status}`;
  if (typeof code === 'string') {
    if (isProtocolCode(code)) return new ProtocolError(code, message);
    if ((NODE_ERROR_CODES as readonly string[]).includes(code)) return new NodeError(code as NodeErrorCode, message);
  }
  return new NodeError('INTERNAL', `HTTP ${status}: ${message}`);
}

/** Every entry under `prefix`, read page by page (500 a page). */
export async function listAll(ep: ChainEndpoint, prefix: string): Promise<{ key: string; value: JsonValue }[]> {
  const out: { key: string; value: JsonValue }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ep.list(prefix, after, 500);
    out.push(...page);
    if (page.length < 500) return out;
    after = page[page.length - 1]?.key;
  }
}
