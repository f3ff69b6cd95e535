/**
 * Opens a consortium peer's node: the etcd orderer, checkpoint signatures through etcd, and
 * catch-up from the other peers before ordering starts (and whenever the orderer's window has
 * moved past this peer). The peer holds only its own member keys.
 */

import type { Signer } from '@custos/protocol/crypto';
import type { ContractRuntime } from '../contracts/runtime.js';
import type { Genesis } from '../genesis.js';
import { CustosNode } from '../node.js';
import { EtcdOrderer } from '../ordering/etcd.js';
import { catchUpFromPeers } from './catch-up.js';
import type { ConsortiumConfig, EtcdSecurity } from './config.js';
import { EtcdCheckpointBoard } from './etcd-board.js';

/** Every consortium peer writes this as its headers' proposer, so all compute identical headers. */
export const CONSORTIUM_PROPOSER = 'etcd';

export interface ConsortiumNodeOptions {
  dbPath: string;
  genesis: Genesis;
  signers: Signer[];
  config: ConsortiumConfig;
  /** Credentials for etcd (TLS client certificate, user auth): see `loadEtcdSecurity`. */
  etcdSecurity?: EtcdSecurity;
  verifyThreads?: number;
  synchronous?: 'FULL' | 'NORMAL';
  maxPending?: number;
  log?: (message: string) => void;
  /** This peer's clock (block times it proposes and checks); tests only. Default Date.now. */
  now?: () => number;
  /** The contract runtime (default: the process's). */
  contracts?: ContractRuntime;
}

export function openConsortiumNode(opts: ConsortiumNodeOptions): Promise<CustosNode> {
  const { config } = opts;
  const log = opts.log ?? (() => {});
  const window = config.orderer?.window ?? 1000;
  return CustosNode.open({
    dbPath: opts.dbPath,
    genesis: opts.genesis,
    signers: opts.signers,
    proposer: CONSORTIUM_PROPOSER,
    ...(opts.verifyThreads === undefined ? {} : { verifyThreads: opts.verifyThreads }),
    ...(opts.synchronous === undefined ? {} : { synchronous: opts.synchronous }),
    ...(opts.maxPending === undefined ? {} : { maxPending: opts.maxPending }),
    ...(config.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: config.maxClockSkewMs }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.contracts === undefined ? {} : { contracts: opts.contracts }),
    orderer: (hooks) =>
      new EtcdOrderer({
        endpoints: config.etcd.endpoints,
        prefix: config.etcd.prefix,
        peerId: config.peerId,
        parse: hooks.parse,
        parseBatch: hooks.parseBatch,
        lastHeight: hooks.lastHeight,
        onExpired: hooks.onExpired,
        onError: hooks.onError,
        checkBlockTime: hooks.checkBlockTime,
        ...(opts.now === undefined ? {} : { now: opts.now }),
        quorum: hooks.quorum,
        onRefused: (height, blockTime, reason) => {
          const localTime = (opts.now ?? Date.now)();
          hooks.onRefused({ kind: 'block', height, blockTime, localTime, skewMs: blockTime - localTime, reason });
        },
        maxTxs: config.orderer?.maxTxs ?? opts.genesis.params.blockMaxTxs,
        maxWaitMs: config.orderer?.maxWaitMs ?? opts.genesis.params.blockMaxMs,
        window,
        ...(config.orderer?.maxTxnOps === undefined ? {} : { maxTxnOps: config.orderer.maxTxnOps }),
        ...(opts.etcdSecurity === undefined ? {} : { security: opts.etcdSecurity }),
        log,
      }),
    exchange: new EtcdCheckpointBoard({
      endpoints: config.etcd.endpoints,
      prefix: config.etcd.prefix,
      window,
      log,
      ...(opts.etcdSecurity === undefined ? {} : { security: opts.etcdSecurity }),
    }),
    catchUp: (node) =>
      catchUpFromPeers(node, {
        peers: config.peers,
        log,
        ...(opts.signers[0] === undefined ? {} : { signer: opts.signers[0] }),
      }),
  });
}
