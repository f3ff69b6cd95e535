/**
 * Recovery of a peer that diverged from the quorum (issue 11, trust #12). A diverged peer stops and
 * keeps the evidence; it does not open again until an operator acknowledges it with
 * `custos node recover`, which rebuilds the store from what is verifiable: the genesis, then the
 * peer's own blocks that carry a quorum certificate, each re-executed from scratch (so a tampered
 * or wrongly computed state is recomputed, never copied) and checked against its certificate. The
 * first block without a valid quorum certificate over the checkpoint re-execution gives ends the
 * rebuild; everything after it is discarded. The diverged store is kept beside the new one as
 * evidence. Started again, the peer takes the blocks it lacks from the orderer or, beyond its
 * window, from the other peers (catch-up verifies every certificate).
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { NodeError } from '../errors.js';
import type { Genesis } from '../genesis.js';
import { CustosNode } from '../node.js';
import type { DeliverFn, Orderer, PendingTx } from '../ordering/orderer.js';
import { SqliteStore } from '../store/sqlite.js';

export interface RecoveryReport {
  /** Height of the last certified block kept (re-executed and checked). */
  height: number;
  /** Blocks of the diverged store that were discarded (after `height`). */
  discarded: number;
  /** Height of the divergence evidence, if the store held one. */
  divergedAt: number | null;
  /** Where the diverged store was kept, as evidence. */
  archived: string;
}

export interface RecoverOptions {
  /** Rebuild even without divergence evidence in the store (e.g. after a failed commit). */
  force?: boolean;
  log?: (message: string) => void;
}

/** An orderer that orders nothing: the store is rebuilt from certified blocks only. */
class NoOrderer implements Orderer {
  async start(_deliver: DeliverFn, _lastTime: number): Promise<void> {}
  submit(_txs: PendingTx[]): void {
    throw new NodeError('NODE_STOPPED', 'recovering: no new transactions');
  }
  pending(): number {
    return 0;
  }
  async stop(): Promise<void> {}
}

const SIDE_FILES = ['', '-wal', '-shm'];

function moveStore(from: string, to: string): void {
  for (const suffix of SIDE_FILES) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
}

function removeStore(path: string): void {
  for (const suffix of SIDE_FILES) rmSync(path + suffix, { force: true });
}

/**
 * Rebuilds the store at `dbPath` from its genesis and its quorum-certified blocks, re-executing
 * each; keeps the old store as `<dbPath>.diverged-<time>`. Throws BAD_REQUEST for a store without
 * divergence evidence (unless `force`), NOT_INITIALIZED for one without a chain.
 *
 * @example
 * const r = await recoverDivergedStore(join(home, 'node.db'));
 * console.log(`kept ${r.height} certified blocks, discarded ${r.discarded}`);
 */
export async function recoverDivergedStore(dbPath: string, opts: RecoverOptions = {}): Promise<RecoveryReport> {
  const log = opts.log ?? (() => {});
  if (!existsSync(dbPath)) throw new NodeError('NOT_INITIALIZED', `no store at ${dbPath}`);
  const old = new SqliteStore(dbPath);
  const rebuilt = `${dbPath}.recovering`;
  let node: CustosNode | undefined;
  let report: Omit<RecoveryReport, 'archived'>;
  try {
    const genesisText = old.getMeta('genesis');
    if (genesisText === undefined) throw new NodeError('NOT_INITIALIZED', 'this store holds no chain');
    const evidenceText = old.getMeta('divergence');
    if (evidenceText === undefined && opts.force !== true) {
      throw new NodeError(
        'BAD_REQUEST',
        'this store holds no divergence evidence: nothing to recover (use --force to rebuild it all the same)',
      );
    }
    const divergedAt =
      evidenceText === undefined ? null : ((JSON.parse(evidenceText) as { height?: number }).height ?? null);
    const head = old.latestHeader()?.height ?? 0;
    removeStore(rebuilt);
    node = await CustosNode.open({
      dbPath: rebuilt,
      genesis: JSON.parse(genesisText) as Genesis,
      verifyThreads: 1,
      orderer: new NoOrderer(),
    });
    for (let h = 1; h <= head; h++) {
      const block = old.getBlock(h);
      if (block === null || block.qc === null) break;
      try {
        await node.applyCertifiedBlock({ header: block.header, txs: block.txs, qc: block.qc, results: block.results });
      } catch (e) {
        log(`block ${h}: ${(e as Error).message}; the rebuild ends at block ${h - 1}`);
        break;
      }
    }
    const height = node.latest().height;
    // A certified block that re-executes differently stops the rebuild (recorded as evidence); the
    // rebuilt store keeps only what verified.
    node.store.db.prepare("DELETE FROM meta WHERE key = 'divergence'").run();
    report = { height, discarded: head - height, divergedAt };
    node.store.setMeta(
      'recovered',
      JSON.stringify({ at: Date.now(), ...report, ...(evidenceText === undefined ? {} : { evidence: 'archived' }) }),
    );
    await node.close();
    node = undefined;
  } catch (e) {
    await node?.close().catch(() => {});
    old.close();
    removeStore(rebuilt);
    throw e;
  }
  old.close();
  const archived = `${dbPath}.diverged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  moveStore(dbPath, archived);
  moveStore(rebuilt, dbPath);
  log(`rebuilt ${report.height} certified blocks; ${report.discarded} discarded; old store kept at ${archived}`);
  return { ...report, archived };
}
