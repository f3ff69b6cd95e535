/**
 * The relayer (DESIGN.md section 7): carries cross-chain transactions and their proofs between
 * chains. It holds no state it cannot rebuild from the chains: each step scans every chain's open
 * cross-chain transactions (`xtxopen/`), reads votes and the decision, and submits whichever of
 * xtx.prepare, xtx.decide and xtx.finalize is due. Every step is idempotent on the ledgers (a step
 * already taken ends with CONFLICT), so any number of relayers may run at once, and one that dies
 * is replaced by another that simply scans again. Its key only pays for nothing: relay
 * transactions are permissionless, the proofs carry the authority.
 *
 * Before the cross-chain steps, each pass carries member-set changes: for every chain that has a
 * light client of another one, the other chain's certified member-set updates after the epoch that
 * light client holds (`GET /v1/members/epochs`) go to `interop.updateMembers`, so counterparties
 * follow admissions, removals and key rotations without anyone asking.
 */
import type { Signer } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import {
  type CrossChainTx,
  type DecisionProof,
  type LightClientState,
  parseCrossChainTx,
  type VoteProof,
  type XtxDecisionRecord,
  type XtxVoteRecord,
  xtxDecisionKey,
  xtxIdOf,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type MemberSetUpdate, type SignedTx, type StateBundle, signTx } from '@custos/protocol/ledger';
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
}

export type RelayStep = 'prepare' | 'decide' | 'timeout' | 'finalize' | 'members';

/** One transaction a relayer submitted, and how it ended (a result code, or an admission error code). */
export interface RelayAction {
  /** The cross-chain transaction; for a `members` step, `epoch <n> of <chainId>`. */
  xtxId: string;
  chainId: string;
  step: RelayStep;
  code: string;
}

export interface RelayerOptions {
  chains: ChainEndpoint[];
  /** Signs relay transactions; any key works. */
  signer: Signer;
  /** Wall clock for the relay transactions' validity window. */
  now?: () => number;
  /** Cross-chain transactions advanced at once. Default 64. */
  concurrency?: number;
  /** Called with every submitted step, and with chains that could not be reached. */
  onAction?: (a: RelayAction) => void;
  onError?: (label: string, e: unknown) => void;
}

const PAGE = 500;
const BODY_CACHE_LIMIT = 10_000;

interface Chain {
  ep: ChainEndpoint;
  chainId: string;
  height: number;
}

/**
 * A relayer over some chains.
 *
 * @example
 * const relayer = new Relayer({ chains: [httpEndpoint(urlA), httpEndpoint(urlB)], signer });
 * await relayer.run({ intervalMs: 500, signal });
 */
export class Relayer {
  private readonly endpoints: ChainEndpoint[];
  private readonly signer: Signer;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly onAction: (a: RelayAction) => void;
  private readonly onError: (label: string, e: unknown) => void;
  /** Bodies already fetched and checked: a cache, rebuilt by scanning when lost. */
  private readonly bodies = new Map<string, CrossChainTx>();

  constructor(opts: RelayerOptions) {
    this.endpoints = opts.chains;
    this.signer = opts.signer;
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 64;
    this.onAction = opts.onAction ?? (() => {});
    this.onError = opts.onError ?? (() => {});
  }

  /** One pass: scans every chain and submits every step that is due. Returns what it submitted. */
  async step(): Promise<RelayAction[]> {
    const chains = new Map<string, Chain>();
    for (const ep of this.endpoints) {
      try {
        const { chainId, height } = await ep.info();
        if (!chains.has(chainId)) chains.set(chainId, { ep, chainId, height });
      } catch (e) {
        this.onError(ep.label, e);
      }
    }
    const actions: RelayAction[] = [];
    await this.relayMemberSets(chains, actions);
    const open = new Map<string, { chain: Chain; prepareTx: string }[]>();
    for (const chain of chains.values()) {
      try {
        for (const { key, value } of await listAll(chain.ep, 'xtxopen/')) {
          const id = key.slice('xtxopen/'.length);
          const prepareTx = (value as { prepareTx?: unknown } | null)?.prepareTx;
          if (typeof prepareTx !== 'string') continue;
          const list = open.get(id) ?? [];
          list.push({ chain, prepareTx });
          open.set(id, list);
        }
      } catch (e) {
        this.onError(chain.ep.label, e);
      }
    }
    const ids = [...open.keys()];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        try {
          await this.advance(id, open.get(id) ?? [], chains, actions);
        } catch (e) {
          this.onError(id, e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    return actions;
  }

  /**
   * Brings every light client up to date: for each chain B with a light client of chain A, submits
   * A's certified member-set updates after the epoch B's client holds, in order, to B. An update
   * another relayer brought first ends with UNAUTHORIZED (stale) and changes nothing.
   */
  private async relayMemberSets(chains: Map<string, Chain>, actions: RelayAction[]): Promise<void> {
    for (const src of chains.values()) {
      if (src.ep.memberEpochs === undefined) continue;
      for (const dst of chains.values()) {
        if (dst === src) continue;
        try {
          const lc = (await dst.ep.entry(`lc/${src.chainId}`)) as unknown as LightClientState | null;
          if (lc === null || lc.frozen !== null || typeof lc.epoch !== 'number') continue;
          for (const u of await src.ep.memberEpochs(lc.epoch + 1)) {
            const tx = signTx(
              {
                chainId: dst.chainId,
                type: 'interop.updateMembers',
                args: { certified: u as unknown as JsonValue },
                now: this.now(),
              },
              this.signer,
            );
            let code: string;
            try {
              code = (await dst.ep.submit(tx)).code;
            } catch (e) {
              code = errorCodeOf(e);
            }
            const a: RelayAction = {
              xtxId: `epoch ${u.epoch} of ${src.chainId}`,
              chainId: dst.chainId,
              step: 'members',
              code,
            };
            actions.push(a);
            this.onAction(a);
            if (code !== 'OK') break;
          }
        } catch (e) {
          this.onError(dst.ep.label, e);
        }
      }
    }
  }

  /** Steps until `signal` aborts (or once, with `once`), waiting `intervalMs` between passes. */
  async run(opts: { intervalMs?: number; signal?: AbortSignal; once?: boolean } = {}): Promise<void> {
    const interval = opts.intervalMs ?? 500;
    while (opts.signal?.aborted !== true) {
      await this.step();
      if (opts.once === true) return;
      await sleep(interval, opts.signal);
    }
  }

  /** The body of `id`, from the prepare transaction one of the chains committed, checked against its id. */
  private async body(id: string, sources: { chain: Chain; prepareTx: string }[]): Promise<CrossChainTx | undefined> {
    const cached = this.bodies.get(id);
    if (cached !== undefined) return cached;
    for (const { chain, prepareTx } of sources) {
      try {
        const tx = await chain.ep.tx(prepareTx);
        if (tx === null) continue;
        const xtx = parseCrossChainTx(tx.body.args.xtx);
        if (xtxIdOf(xtx) !== id) continue;
        if (this.bodies.size >= BODY_CACHE_LIMIT) this.bodies.delete(this.bodies.keys().next().value as string);
        this.bodies.set(id, xtx);
        return xtx;
      } catch (e) {
        this.onError(chain.ep.label, e);
      }
    }
    return undefined;
  }

  private async advance(
    id: string,
    sources: { chain: Chain; prepareTx: string }[],
    chains: Map<string, Chain>,
    actions: RelayAction[],
  ): Promise<void> {
    const xtx = await this.body(id, sources);
    if (xtx === undefined) return;
    const records = new Map<string, XtxVoteRecord | null>();
    await Promise.all(
      xtx.participants.map(async (c) => {
        const chain = chains.get(c);
        if (chain === undefined) return;
        try {
          records.set(c, (await chain.ep.entry(xtxVoteKey(id))) as unknown as XtxVoteRecord | null);
        } catch (e) {
          this.onError(chain.ep.label, e);
        }
      }),
    );
    const d = chains.get(xtx.decisionChain);
    let decision: XtxDecisionRecord | null | undefined;
    if (d !== undefined) {
      try {
        decision = (await d.ep.entry(xtxDecisionKey(id))) as unknown as XtxDecisionRecord | null;
      } catch (e) {
        this.onError(d.ep.label, e);
      }
    }
    const submit = async (chain: Chain, step: RelayStep, args: { [k: string]: JsonValue }): Promise<string> => {
      const type = step === 'timeout' ? 'xtx.decide' : `xtx.${step}`;
      const tx = signTx({ chainId: chain.chainId, type, args, now: this.now() }, this.signer);
      let code: string;
      try {
        code = (await chain.ep.submit(tx)).code;
      } catch (e) {
        code = errorCodeOf(e);
      }
      const a: RelayAction = { xtxId: id, chainId: chain.chainId, step, code };
      actions.push(a);
      this.onAction(a);
      return code;
    };
    const body = xtx as unknown as JsonValue;

    if (decision === null || decision === undefined) {
      await Promise.all(
        xtx.participants.map(async (c) => {
          const chain = chains.get(c);
          if (chain !== undefined && records.get(c) === null) {
            if ((await submit(chain, 'prepare', { xtx: body })) === 'OK') {
              records.set(c, (await chain.ep.entry(xtxVoteKey(id))) as unknown as XtxVoteRecord | null);
            }
          }
        }),
      );
      if (d === undefined || decision === undefined) return;
      const no = xtx.participants.find((c) => records.get(c)?.vote === 'NO');
      const allYes = xtx.participants.every((c) => records.get(c)?.vote === 'YES');
      let code: string | undefined;
      if (no !== undefined || allYes) {
        const from = no === undefined ? xtx.participants : [no];
        const votes = await Promise.all(
          from.filter((c) => c !== xtx.decisionChain).map((c) => this.voteProof(chains.get(c) as Chain, id)),
        );
        code = await submit(d, 'decide', { xtx: body, votes: votes as unknown as JsonValue });
      } else if (d.height >= xtx.deadlineHeight) {
        // The next block of D is past the deadline: a timeout is valid there.
        code = await submit(d, 'timeout', { xtx: body, timeout: true });
      }
      // CONFLICT: another relayer decided first; its decision is as good.
      if (code !== 'OK' && code !== 'CONFLICT') return;
      decision = (await d.ep.entry(xtxDecisionKey(id))) as unknown as XtxDecisionRecord | null;
      if (decision === null) return;
    }

    const due = xtx.participants.filter((c) => {
      if (!chains.has(c) || !records.has(c)) return false;
      const rec = records.get(c);
      // A tombstone for an ABORT that overtook the prepare: a late prepare then finds it.
      if (rec === null || rec === undefined) return decision?.decision === 'ABORT';
      return rec.status === 'prepared' || rec.status === 'refused';
    });
    if (due.length === 0) return;
    let proof: DecisionProof | undefined;
    if (due.some((c) => c !== xtx.decisionChain)) {
      if (d === undefined) return;
      const b = await d.ep.stateProof(xtxDecisionKey(id));
      if (b.value === null) return;
      proof = { certificate: b.certificate, proof: b.proof, value: b.value };
    }
    await Promise.all(
      due.map((c) =>
        submit(
          chains.get(c) as Chain,
          'finalize',
          c === xtx.decisionChain ? { xtx: body } : { xtx: body, decision: proof as unknown as JsonValue },
        ),
      ),
    );
  }

  private async voteProof(chain: Chain, id: string): Promise<VoteProof> {
    const b = await chain.ep.stateProof(xtxVoteKey(id));
    if (b.value === null) throw new NodeError('NOT_FOUND', `chain '${chain.chainId}' has no vote on ${id}`);
    return { chainId: chain.chainId, certificate: b.certificate, proof: b.proof, value: b.value };
  }
}

/** Where a cross-chain transaction stands, read from the chains (what `custos xtx status` prints). */
export interface XtxStatus {
  xtxId: string;
  /** `unknown` when no reachable chain has heard of it. */
  stage: 'unknown' | 'preparing' | 'deciding' | 'finalizing' | 'committed' | 'aborted';
  participants: string[] | null;
  decisionChain: string | null;
  deadlineHeight: number | null;
  decision: XtxDecisionRecord | null;
  chains: { chainId: string; label: string; reachable: boolean; height: number | null; record: XtxVoteRecord | null }[];
}

/** Reads the status of `xtxId` from the given chains. */
export async function xtxStatus(endpoints: ChainEndpoint[], xtxId: string): Promise<XtxStatus> {
  const chains: XtxStatus['chains'] = [];
  let xtx: CrossChainTx | undefined;
  let decision: XtxDecisionRecord | null = null;
  for (const ep of endpoints) {
    try {
      const { chainId, height } = await ep.info();
      const record = (await ep.entry(xtxVoteKey(xtxId))) as unknown as XtxVoteRecord | null;
      chains.push({ chainId, label: ep.label, reachable: true, height, record });
      if (xtx === undefined && record?.prepareTx) {
        const tx = await ep.tx(record.prepareTx);
        if (tx !== null) {
          const parsed = parseCrossChainTx(tx.body.args.xtx);
          if (xtxIdOf(parsed) === xtxId) xtx = parsed;
        }
      }
      const d = (await ep.entry(xtxDecisionKey(xtxId))) as unknown as XtxDecisionRecord | null;
      if (d !== null) decision = d;
    } catch {
      chains.push({ chainId: '?', label: ep.label, reachable: false, height: null, record: null });
    }
  }
  let stage: XtxStatus['stage'] = 'unknown';
  if (xtx !== undefined) {
    const seen = (c: string) => chains.find((x) => x.chainId === c && x.reachable);
    if (decision === null) {
      stage = xtx.participants.every((c) => seen(c)?.record?.vote != null) ? 'deciding' : 'preparing';
    } else {
      const final = decision.decision === 'COMMIT' ? 'committed' : 'aborted';
      // After an ABORT, a chain that never prepared has nothing to release.
      const done = xtx.participants.every((c) => {
        const chain = seen(c);
        if (chain === undefined) return false;
        return chain.record === null ? final === 'aborted' : chain.record.status === final;
      });
      stage = done ? final : 'finalizing';
    }
  } else if (chains.some((c) => c.record !== null)) {
    stage = 'preparing';
  }
  return {
    xtxId,
    stage,
    participants: xtx?.participants ?? null,
    decisionChain: xtx?.decisionChain ?? null,
    deadlineHeight: xtx?.deadlineHeight ?? null,
    decision,
    chains,
  };
}

/** An in-process endpoint over a running peer (tests, benchmarks, a relayer embedded in a node). */
export function nodeEndpoint(node: CustosNode, label = `node:${node.chainId}`): ChainEndpoint {
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
  };
}

async function listAll(ep: ChainEndpoint, prefix: string): Promise<{ key: string; value: JsonValue }[]> {
  const out: { key: string; value: JsonValue }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ep.list(prefix, after, PAGE);
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page[page.length - 1]?.key;
  }
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

function errorCodeOf(e: unknown): string {
  return e instanceof NodeError || e instanceof ProtocolError ? e.code : 'INTERNAL';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
