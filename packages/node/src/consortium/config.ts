/**
 * A consortium peer's network configuration, `<home>/consortium.json`: this peer's id, the etcd
 * cluster and key prefix its chain is ordered under, and the HTTP APIs of the other peers (where it
 * catches up from). Checked like any file from outside.
 */
import { NodeError } from '../errors.js';

export interface ConsortiumConfig {
  /** This peer's orderer instance name (unique in the consortium), e.g. its member id. */
  peerId: string;
  etcd: {
    endpoints: string[];
    /** Key prefix of the chain, e.g. `/custos/<chainId>`. */
    prefix: string;
  };
  /** Base URLs of the other peers' HTTP APIs, e.g. `https://peer.bank.example:7070`. */
  peers: string[];
  orderer?: { maxTxs?: number; maxWaitMs?: number; window?: number; maxTxnOps?: number };
  /**
   * How far ahead of this peer's clock a block may be dated, ms (default 30 s): a block dated later
   * is refused before it is executed or signed, and raises the clock alarm. Every peer of a
   * consortium should use the same value.
   */
  maxClockSkewMs?: number;
}

const ID = /^[\x21-\x7e]{1,128}$/;

export function parseConsortiumConfig(raw: unknown, where = 'consortium.json'): ConsortiumConfig {
  const bad = (m: string) => new NodeError('BAD_REQUEST', `${where}: ${m}`);
  if (typeof raw !== 'object' || raw === null) throw bad('expected an object');
  const c = raw as Record<string, unknown>;
  if (typeof c.peerId !== 'string' || !ID.test(c.peerId)) throw bad('expected peerId of 1-128 printable characters');
  const etcd = c.etcd as Record<string, unknown> | undefined;
  if (typeof etcd !== 'object' || etcd === null) throw bad('expected etcd: {endpoints, prefix}');
  const endpoints = etcd.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.length > 16 || !endpoints.every(isUrl)) {
    throw bad('expected etcd.endpoints as 1-16 http(s) URLs');
  }
  if (typeof etcd.prefix !== 'string' || !/^\/[\x21-\x7e]{1,200}$/.test(etcd.prefix)) {
    throw bad("expected etcd.prefix starting with '/'");
  }
  const peers = c.peers ?? [];
  if (!Array.isArray(peers) || peers.length > 64 || !peers.every(isUrl)) throw bad('expected peers as http(s) URLs');
  const out: ConsortiumConfig = {
    peerId: c.peerId,
    etcd: { endpoints: [...(endpoints as string[])], prefix: etcd.prefix },
    peers: [...(peers as string[])],
  };
  if (c.orderer !== undefined) {
    const o = c.orderer as Record<string, unknown>;
    const n: NonNullable<ConsortiumConfig['orderer']> = {};
    for (const k of ['maxTxs', 'maxWaitMs', 'window', 'maxTxnOps'] as const) {
      const v = o[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
        throw bad(`expected orderer.${k} as a positive integer`);
      n[k] = v;
    }
    out.orderer = n;
  }
  if (c.maxClockSkewMs !== undefined) {
    const v = c.maxClockSkewMs;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1000 || v > 600_000) {
      throw bad('expected maxClockSkewMs as an integer number of milliseconds from 1000 to 600000');
    }
    out.maxClockSkewMs = v;
  }
  return out;
}

function isUrl(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 512) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
