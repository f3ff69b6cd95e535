/**
 * The CLI's small HTTP client of a node (fetch-based). Problem+json answers come back as the same
 * ProtocolError / NodeError the node threw, so the CLI prints the node's code and exits with its
 * exit code. Every call goes through the SDK's `CustosClient`; `cliError` maps its errors.
 */
import type { Signer } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import type { BlockHeader, CommitResult, SignedTx } from '@custos/protocol/ledger';
import { CustosApiError, CustosClient, signedBy } from '@custos/sdk/client';
import { isProtocolCode, NODE_ERROR_CODES, NodeError, type NodeErrorCode } from '../errors.js';
import { cliCommand } from '../invocation.js';

export const DEFAULT_NODE_URL = 'http://127.0.0.1:7070';
/** Longer than the node's own 30 s commit wait, so the node's TIMEOUT answer arrives first. */
const REQUEST_TIMEOUT_MS = 40_000;

export type { CommitResult } from '@custos/protocol/ledger';

export interface ChainInfo {
  chainId: string;
  height: number;
  latestHash: string;
  time: number;
  threshold: number;
  members: { id: string; keys: string[] }[];
}

export interface TxRecord extends CommitResult {
  /** The signed body: absent when the reader may not see it (docs/api.md, "Read access"). */
  tx?: SignedTx;
}

export interface BlockRecord {
  height: number;
  hash: string;
  header: BlockHeader;
  qc: { signatures: unknown[] } | null;
  txIds: string[];
  results: string[];
  /** Positions in the block of `txIds`. */
  indexes?: number[];
  /** Other orgs' transactions as the read policy shows them to a member. */
  commitments?: { index: number; txId: string; code: string }[];
  /** Transactions this reader may not see. */
  withheld?: number;
}

export type ProofKind = 'inclusion' | 'consistency' | 'state';

/** How a client proves who it is: a key that signs each request (RFC 9421), or an org API token. */
export interface ClientAuth {
  signer?: Signer;
  token?: string;
}

export class NodeClient {
  readonly baseUrl: string;
  readonly #auth: ClientAuth;

  /** With `auth`, every request is signed with `signer`, or else carries the org API `token`. */
  constructor(baseUrl: string = DEFAULT_NODE_URL, auth: ClientAuth = {}) {
    this.#auth = auth;
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (cause) {
      throw new NodeError('BAD_REQUEST', `expected a node URL like ${DEFAULT_NODE_URL}, got '${baseUrl}'`, { cause });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new NodeError('BAD_REQUEST', `expected an http(s) node URL, got '${baseUrl}'`);
    }
    this.baseUrl = url.href.replace(/\/+$/, '');
  }

  /** The SDK client every call goes through; its errors are mapped once, in `cliError`. */
  get sdk(): CustosClient {
    const { signer, token } = this.#auth;
    this.#sdk ??= new CustosClient({
      baseUrl: this.baseUrl,
      timeoutMs: REQUEST_TIMEOUT_MS,
      fetch: commitResultFetch,
      ...(signer !== undefined ? { sign: signedBy(signer) } : token !== undefined ? { token } : {}),
    });
    return this.#sdk;
  }
  #sdk: CustosClient | undefined;

  /** Runs one SDK call; its errors become the CLI's in `cliError`. */
  run<T>(call: (sdk: CustosClient) => Promise<T>): Promise<T> {
    return viaSdk(this.baseUrl, () => call(this.sdk));
  }

  chain(): Promise<ChainInfo> {
    return viaSdk(this.baseUrl, () => this.sdk.chain());
  }

  /** Submits a signed transaction; with `wait`, resolves once it has committed (at most `waitMs`, then TIMEOUT). */
  submit(tx: SignedTx, wait: boolean, waitMs?: number): Promise<CommitResult | { txId: string }> {
    return viaSdk(this.baseUrl, () =>
      wait ? this.sdk.submitAndWait(tx, waitMs === undefined ? {} : { waitMs }) : this.sdk.submit(tx),
    );
  }

  tx(txId: string): Promise<TxRecord> {
    return viaSdk(this.baseUrl, () => this.sdk.tx(txId));
  }

  block(height: number | 'latest'): Promise<BlockRecord> {
    return viaSdk(this.baseUrl, () => (height === 'latest' ? this.sdk.latestBlock() : this.sdk.block(height)));
  }

  stateEntry(key: string): Promise<{ height: number; key: string; value: unknown }> {
    return viaSdk(this.baseUrl, () => this.sdk.stateEntry(key));
  }

  inclusionProof(txId: string, height?: number): Promise<unknown> {
    return viaSdk(this.baseUrl, () => this.sdk.inclusionProof(txId, height === undefined ? {} : { height }));
  }

  consistencyProof(from: number, to: number): Promise<unknown> {
    return viaSdk(this.baseUrl, () => this.sdk.consistencyProof(from, to));
  }

  stateProof(key: string): Promise<unknown> {
    return viaSdk(this.baseUrl, () => this.sdk.stateProof(key));
  }
}

/**
 * A transaction the ledger refused is still a commit result (`code` tells why), and some routes
 * answer it with an error status (`POST /v1/orgs/:org/records`: 409). The SDK would make that a
 * `CustosApiError` without the result's block and tx id, so this one place hands such an answer
 * back as a 200: the CLI prints `refused, CODE` and exits 1, as for any other refusal.
 */
const commitResultFetch: typeof fetch = async (input, init) => {
  const res = await globalThis.fetch(input, init);
  if (res.ok) return res;
  const bytes = await res.arrayBuffer();
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    doc = undefined;
  }
  const status = isCommitResult(doc) ? 200 : res.status;
  return new Response(bytes, { status, statusText: status === 200 ? 'OK' : res.statusText, headers: res.headers });
};

function isCommitResult(doc: unknown): doc is CommitResult {
  const d = doc as Partial<CommitResult> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.txId === 'string' &&
    typeof d.code === 'string' &&
    typeof d.height === 'number'
  );
}

async function viaSdk<T>(baseUrl: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw cliError(e, baseUrl);
  }
}

/**
 * The one place an SDK error becomes the CLI's: the node's problem code as the same ProtocolError
 * or NodeError the node threw (so the CLI prints `error CODE: message` and exits with the
 * registry's exit code), and the SDK's client codes as the nearest node codes.
 */
export function cliError(e: unknown, baseUrl: string): Error {
  if (!(e instanceof CustosApiError)) return e instanceof Error ? e : new NodeError('INTERNAL', String(e));
  switch (e.code) {
    case 'NODE_UNREACHABLE':
      // A node's own answer (its peer could not reach an org's node) says which: passed on as it is.
      if (e.problem !== undefined) break;
      return new NodeError(
        'NODE_UNREACHABLE',
        `no node answers at ${baseUrl}: start one (\`${cliCommand('node start')}\`), or point --node or CUSTOS_NODE at yours`,
        { cause: e },
      );
    case 'TIMEOUT':
      // A transaction sent without an answer: the SDK names it, so the user can look it up later.
      if (e.problem === undefined)
        return new NodeError(
          'TIMEOUT',
          e.detail.startsWith('transaction ')
            ? e.detail
            : `no answer from ${baseUrl} within ${REQUEST_TIMEOUT_MS / 1000} s`,
        );
      break;
    case 'BAD_RESPONSE':
      return new NodeError('INTERNAL', e.detail, { cause: e });
    case 'ABORTED':
      return new NodeError('INTERNAL', e.detail, { cause: e });
  }
  return remoteError(e.status, { code: e.code, detail: e.detail });
}

/** The error a problem+json answer describes, as the same class and code the node threw. */
function remoteError(status: number, doc: unknown): Error {
  const { code, detail } = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const message = typeof detail === 'string' ? detail : `HTTP ${status}`;
  if (typeof code === 'string') {
    if (isProtocolCode(code)) return new ProtocolError(code, message);
    if ((NODE_ERROR_CODES as readonly string[]).includes(code)) return new NodeError(code as NodeErrorCode, message);
  }
  return new NodeError('INTERNAL', `node answered HTTP ${status}: ${message}`);
}
