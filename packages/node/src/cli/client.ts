/**
 * The CLI's small HTTP client of a node (fetch-based). Problem+json answers come back as the same
 * ProtocolError / NodeError the node threw, so the CLI prints the node's code and exits with its
 * exit code. The SDK's typed client replaces this file later.
 */
import { ProtocolError, type SignedTx } from '@custos/protocol';
import { isProtocolCode, NODE_ERROR_CODES, NodeError, type NodeErrorCode } from '../errors.js';

export const DEFAULT_NODE_URL = 'http://127.0.0.1:7070';
/** Longer than the node's own 30 s commit wait, so the node's TIMEOUT answer arrives first. */
const REQUEST_TIMEOUT_MS = 40_000;

export interface CommitResult {
  txId: string;
  height: number;
  index: number;
  logIndex: number;
  code: string;
}

export interface ChainInfo {
  chainId: string;
  height: number;
  latestHash: string;
  time: number;
  threshold: number;
  members: { id: string; keys: string[] }[];
}

export interface TxRecord extends CommitResult {
  tx: SignedTx;
}

export interface BlockRecord {
  height: number;
  hash: string;
  header: Record<string, unknown> & { height: number; time: number; txCount: number };
  qc: { signatures: unknown[] } | null;
  txIds: string[];
  results: string[];
}

export type ProofKind = 'inclusion' | 'consistency' | 'state';

export class NodeClient {
  readonly baseUrl: string;

  constructor(baseUrl: string = DEFAULT_NODE_URL) {
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

  chain(): Promise<ChainInfo> {
    return this.request('GET', '/v1/chain');
  }

  /** Submits a signed transaction; with `wait`, resolves once it has committed. */
  submit(tx: SignedTx, wait: boolean): Promise<CommitResult | { txId: string }> {
    return this.request('POST', `/v1/txs${wait ? '?wait=true' : ''}`, tx);
  }

  tx(txId: string): Promise<TxRecord> {
    return this.request('GET', `/v1/txs/${encodeURIComponent(txId)}`);
  }

  block(height: number | 'latest'): Promise<BlockRecord> {
    return this.request('GET', `/v1/blocks/${height}`);
  }

  stateEntry(key: string): Promise<{ height: number; key: string; value: unknown }> {
    return this.request('GET', `/v1/state/entry?${new URLSearchParams({ key })}`);
  }

  inclusionProof(txId: string, height?: number): Promise<unknown> {
    const q = height === undefined ? '' : `?height=${height}`;
    return this.request('GET', `/v1/proofs/inclusion/${encodeURIComponent(txId)}${q}`);
  }

  consistencyProof(from: number, to: number): Promise<unknown> {
    return this.request('GET', `/v1/proofs/consistency?from=${from}&to=${to}`);
  }

  stateProof(key: string): Promise<unknown> {
    return this.request('GET', `/v1/proofs/state?${new URLSearchParams({ key })}`);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === 'TimeoutError') {
        throw new NodeError('TIMEOUT', `no answer from ${this.baseUrl} within ${REQUEST_TIMEOUT_MS / 1000} s`);
      }
      throw new NodeError('NODE_STOPPED', `no node answers at ${this.baseUrl} (is \`custos node start\` running?)`, {
        cause,
      });
    }
    const text = await res.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new NodeError('INTERNAL', `expected JSON from ${method} ${path}, got HTTP ${res.status} with another body`);
    }
    if (!res.ok) throw remoteError(res.status, doc);
    return doc as T;
  }
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
