/**
 * Re-executes a peer's whole chain from genesis and compares every recomputed header field (prevHash,
 * logSize, logRoot, stateRoot), every result code and the final state with what the peer stored.
 * What an auditor runs to trust a copy of the chain without trusting the peer that wrote it.
 */
import { toHex, utf8 } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  checkHeaderLink,
  headerHash,
  logEntryBytes,
  type ParsedTx,
  parseTx,
  verifyQuorumCertificate,
  verifyTxSignature,
} from '@custos/protocol/ledger';
import { MemoryLogStore, MerkleLog } from '@custos/protocol/merkle';
import { MemoryStateNodeStore, StateTree } from '@custos/protocol/state';
import { type ContractRuntime, loadedContractRuntime } from '../contracts/runtime.js';
import { installNativeCrypto, nativeVerifier } from '../crypto/native.js';
import { Executor } from '../exec/executor.js';
import type { ExecContext } from '../exec/module.js';
import { type Genesis, memberSetOf } from '../genesis.js';
import { memberSetFromState } from '../governance/member-set.js';
import { SYSTEM_MODULES } from '../modules/index.js';
import { writeGenesisMembers } from '../modules/profile.js';
import { SqliteStore } from '../store/sqlite.js';

export interface AuditReport {
  ok: boolean;
  height: number;
  logSize: number;
  stateRoot: string;
  /** Blocks whose stored quorum certificate verified against the genesis member set. */
  certified: number;
  problems: string[];
}

/** Replays the chain stored at `dbPath` (opened read-only). Stops at the first 20 problems. */
export function auditChain(dbPath: string, opts: { contracts?: ContractRuntime } = {}): AuditReport {
  installNativeCrypto();
  const store = new SqliteStore(dbPath, { readonly: true });
  try {
    return auditStore(store, opts);
  } finally {
    store.close();
  }
}

/**
 * `opts.contracts`: the runtime contract calls replay with; default the process's, if a node or
 * `loadContractRuntime` loaded it (without one, a chain with contract calls fails its audit).
 */
export function auditStore(store: SqliteStore, opts: { contracts?: ContractRuntime } = {}): AuditReport {
  const problems: string[] = [];
  const genesisText = store.getMeta('genesis');
  if (genesisText === undefined)
    return { ok: false, height: -1, logSize: 0, stateRoot: '', certified: 0, problems: ['no genesis'] };
  const genesis = JSON.parse(genesisText) as Genesis;
  // Contract calls replay with the process's runtime (loaded by any node opened in this process).
  const contracts = opts.contracts ?? loadedContractRuntime();
  const executor = new Executor(SYSTEM_MODULES, contracts === undefined ? {} : { contracts });
  const state = new Map<string, string>();
  const tree = new StateTree(new MemoryStateNodeStore());
  const log = new MerkleLog(new MemoryLogStore());
  const committed = new Set<string>();
  // Keys of the namespaces the executor scans at every block (locks, the forget queue), kept apart
  // so that those scans do not walk the whole replayed state.
  const scanned = new Map<string, Set<string>>([
    ['lock/', new Set<string>()],
    ['forgetdue/', new Set<string>()],
  ]);
  const scannedSet = (k: string) => [...scanned].find(([p]) => k.startsWith(p))?.[1];
  const reader = {
    getState: (k: string) => state.get(k),
    hasCommittedTx: (id: string) => committed.has(id),
    getMeta: (k: string) => (k === 'genesis' ? genesisText : store.getMeta(k)),
    // A sorted prefix scan over the replayed state (the executor asks for `lock/` and `forgetdue/` once per block).
    listState: (prefix: string, after: string | undefined, limit: number) =>
      [...(scannedSet(prefix) ?? state.keys())]
        .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
        .sort()
        .slice(0, limit)
        .map((key) => ({ key, value: state.get(key)! })),
  };
  const applyWrites = (writes: Map<string, string | null>) => {
    for (const [k, v] of writes) {
      if (v === null) state.delete(k);
      else state.set(k, v);
      const set = scannedSet(k);
      if (set !== undefined) {
        if (v === null) set.delete(k);
        else set.add(k);
      }
    }
    return tree.apply([...writes].map(([k, v]) => [utf8(k), v === null ? null : utf8(v)] as const)).root;
  };

  const genesisWrites = new Map<string, string | null>();
  const ctx = { put: (k: string, v: unknown) => genesisWrites.set(k, canonicalize(v)) } as unknown as Pick<
    ExecContext,
    'put'
  >;
  writeGenesisMembers(ctx, genesis);
  let root = applyWrites(genesisWrites);

  let prev: BlockHeader | null = null;
  let certified = 0;
  let height = 0;
  for (; ; height++) {
    const block = store.getBlock(height);
    if (!block) break;
    const h = block.header;
    const where = `block ${height}`;
    // A block's certificate is signed by the members in force before it (governance changes apply from the next height).
    const members =
      height === 0
        ? memberSetOf(genesis)
        : memberSetFromState(
            (k) => (state.has(k) ? JSON.parse(state.get(k)!) : undefined),
            () => genesis,
          );
    try {
      checkHeaderLink(prev, h);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
    }
    if (block.hash !== headerHash(h)) problems.push(`${where}: stored hash is not the header's hash`);
    if (block.txs.length !== h.txCount)
      problems.push(`${where}: ${block.txs.length} transactions stored, header says ${h.txCount}`);
    if (block.txs.some((t) => t === null)) {
      // Bodies pruned after an erasure cannot be re-executed: the replay ends here.
      problems.push(
        `${where}: holds transactions pruned after an erasure (docs/adr/0019-forget-on-the-ledger.md); a replay cannot pass it: audit a snapshot taken after it`,
      );
      break;
    }
    if (height > 0) {
      const parsed: ParsedTx[] = [];
      const sigOk: boolean[] = [];
      for (const tx of block.txs) {
        const p = parseTx(tx);
        parsed.push(p);
        sigOk.push(verifyTxSignature(p, nativeVerifier));
      }
      const out = executor.execute({ chainId: h.chainId, height, time: h.time, txs: parsed, sigOk }, reader);
      out.results.forEach((code, i) => {
        if (code !== block.results[i])
          problems.push(`${where} tx ${i}: recomputed ${code}, stored ${block.results[i]}`);
        if (code !== 'BAD_SIGNATURE' && code !== 'WRONG_CHAIN') committed.add(parsed[i]!.txId);
        log.append(logEntryBytes({ txId: parsed[i]!.txId, height, index: i, time: h.time, code }));
      });
      root = applyWrites(out.writes);
    }
    if (toHex(root) !== h.stateRoot) problems.push(`${where}: recomputed stateRoot differs from the stored one`);
    if (log.size !== h.logSize) problems.push(`${where}: recomputed logSize ${log.size}, stored ${h.logSize}`);
    else if (toHex(log.root()) !== h.logRoot) problems.push(`${where}: recomputed logRoot differs from the stored one`);
    if (block.qc) {
      try {
        verifyQuorumCertificate(block.qc, members, nativeVerifier, genesis.chainId);
        if (
          canonicalize(block.qc.checkpoint) !==
          canonicalize({ chainId: h.chainId, height, logSize: h.logSize, logRoot: h.logRoot, stateRoot: h.stateRoot })
        ) {
          problems.push(`${where}: certificate is for another checkpoint`);
        } else certified++;
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
    }
    prev = h;
    if (problems.length >= 20) break;
  }
  // The state table (what reads are served from) must equal the replayed state.
  const stored = store.listState('', undefined, Number.MAX_SAFE_INTEGER);
  if (stored.length !== state.size || stored.some((r) => state.get(r.key) !== r.value)) {
    problems.push('stored state rows differ from the replayed state');
  }
  return {
    ok: problems.length === 0,
    height: prev?.height ?? -1,
    logSize: log.size,
    stateRoot: toHex(root),
    certified,
    problems,
  };
}
