/**
 * The commit of a block: deterministic execution of an ordered batch, the log and state roots of
 * the header, the checkpoint signed by the member keys this peer holds, and one atomic write of it
 * all. Also the genesis block, and the latest committed header with the member set certifying it.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  type Checkpoint,
  type CommitResult,
  checkpointOf,
  headerHash,
  type LogEntry,
  logEntryBytes,
  MEMBER_SET_KEY,
  type MemberSet,
  type QuorumCertificate,
  signCheckpoint,
  signedTxJson,
  ZERO_HASH,
} from '@custos/protocol/ledger';
import type { ContractRuntime } from '../contracts/runtime.js';
import { Executor } from '../exec/executor.js';
import type { ExecContext } from '../exec/module.js';
import { type Genesis, genesisText } from '../genesis.js';
import { epochRecord } from '../governance/epochs.js';
import { memberSetAt } from '../governance/member-set.js';
import { SYSTEM_MODULES } from '../modules/index.js';
import { writeGenesisMembers } from '../modules/profile.js';
import type { PendingTx } from '../ordering/orderer.js';
import { LedgerLog, LedgerTree } from '../store/authenticated.js';
import type { SqliteStore } from '../store/sqlite.js';

/** How many failure details a node keeps (in memory, newest first out last): diagnostics, not ledger data. */
const MAX_FAILURE_DETAILS = 10_000;

/**
 * Given the computed header before anything is written, returns the certificate to store with the
 * block, or throws to abandon it (catch-up compares against the header another peer served).
 */
export type ExpectHeader = (header: BlockHeader) => QuorumCertificate | null;

export class BlockCommitter {
  readonly log: LedgerLog;
  readonly tree: LedgerTree;
  private readonly store: SqliteStore;
  private readonly genesis: Genesis;
  private readonly genesisMembers: MemberSet;
  private readonly signers: Signer[];
  private readonly executor: Executor;
  /** Why recent transactions failed (txId -> detail), oldest dropped first. */
  private readonly failureDetails = new Map<string, string>();
  private latest: BlockHeader;
  private latestMembers: MemberSet;

  constructor(
    store: SqliteStore,
    genesis: Genesis,
    genesisMembers: MemberSet,
    signers: Signer[],
    contracts?: ContractRuntime,
  ) {
    this.executor = new Executor(SYSTEM_MODULES, contracts === undefined ? {} : { contracts });
    this.store = store;
    this.genesis = genesis;
    this.genesisMembers = genesisMembers;
    this.signers = signers;
    this.log = new LedgerLog(store);
    this.tree = LedgerTree.load(store);
    this.latest = store.latestHeader() as BlockHeader;
    this.latestMembers = this.membersNow();
  }

  /** The latest committed header. */
  get head(): BlockHeader {
    return this.latest;
  }

  /** The member set that certifies the latest committed block. */
  get headMembers(): MemberSet {
    return this.latestMembers;
  }

  /** The member set in the current state (governance), else the genesis one. */
  membersNow(): MemberSet {
    try {
      return memberSetAt(this.store, this.genesis);
    } catch {
      return this.genesisMembers;
    }
  }

  /**
   * Executes `txs` as the next block and commits it. `expect`, when given, sees the computed header
   * before anything is written and returns the certificate to store (or throws to abandon the block).
   */
  commit(txs: PendingTx[], time: number, proposer: string, expect?: ExpectHeader): CommitResult[] {
    const prev = this.latest;
    const height = prev.height + 1;
    const blockTime = Math.max(time, prev.time);
    // The member set that certifies this block: the one in the state after the previous block.
    const members = this.membersNow();
    const parsed = txs.map((t) => t.parsed);
    const out = this.executor.execute(
      { chainId: this.genesis.chainId, height, time: blockTime, txs: parsed, sigOk: txs.map((t) => t.sigOk) },
      this.store,
    );
    const base = prev.logSize;
    const entries: LogEntry[] = parsed.map((p, i) => ({
      txId: p.txId,
      height,
      index: i,
      time: blockTime,
      code: out.results[i]!,
    }));
    const logUpdate = this.log.append(entries.map((e) => logEntryBytes(e)));
    const treeUpdate = this.tree.apply(out.writes);
    const header: BlockHeader = {
      chainId: this.genesis.chainId,
      height,
      prevHash: headerHash(prev),
      time: blockTime,
      logSize: base + txs.length,
      logRoot: toHex(logUpdate.root),
      stateRoot: toHex(treeUpdate.root),
      proposer,
      txCount: txs.length,
    };
    let qc: QuorumCertificate | null;
    try {
      qc = expect ? expect(header) : this.certify(checkpointOf(header), members);
    } catch (e) {
      this.log.rollback();
      this.tree.rollback();
      throw e;
    }
    try {
      this.store.commitBlock({
        header,
        hash: headerHash(header),
        txs: parsed.map((p) => ({ txId: p.txId, json: signedTxJson(p), expiresAt: p.tx.body.expiresAt })),
        results: out.results,
        stateWrites: out.writes,
        logNodes: logUpdate.nodes,
        treeWrites: treeUpdate.writes,
        qc,
        subjectIndex: out.subjects.flatMap((list, i) => list.map((subject) => [subject, base + i] as [string, number])),
        meta: epochRecord(out.writes, height, () => this.tree.proveStaged(MEMBER_SET_KEY)),
        // Subjects this block forgot: their transactions' bodies are pruned in the same SQLite transaction.
        forgotten: out.forgotten.map((f) => ({ subject: f.subject, upTo: base + f.index })),
      });
    } catch (e) {
      this.log.rollback();
      this.tree.rollback();
      throw e;
    }
    this.log.commit();
    this.tree.commit();
    this.latest = header;
    this.latestMembers = members;
    return entries.map((e) => {
      const detail = out.details[e.index];
      if (detail !== undefined) this.rememberFailure(e.txId, detail);
      return {
        txId: e.txId,
        height,
        index: e.index,
        logIndex: base + e.index,
        code: e.code,
        ...(detail === undefined ? {} : { detail }),
      };
    });
  }

  /**
   * Why a committed transaction failed, in words (the field and what was expected), if this node
   * executed it recently; the result code on the ledger is the durable answer.
   */
  failureDetail(txId: string): string | undefined {
    return this.failureDetails.get(txId);
  }

  /** The transaction types this node executes. */
  txTypes(): string[] {
    return this.executor.types();
  }

  private rememberFailure(txId: string, detail: string): void {
    this.failureDetails.set(txId, detail);
    if (this.failureDetails.size > MAX_FAILURE_DETAILS) {
      const oldest = this.failureDetails.keys().next().value;
      if (oldest !== undefined) this.failureDetails.delete(oldest);
    }
  }

  /** Signs `cp` with the keys this peer holds that are member keys in `members` (a removed or rotated-out key no longer signs). */
  /** This peer's own signatures over `cp`, under its keys that are in `members`. */
  certify(cp: Checkpoint, members: MemberSet): QuorumCertificate | null {
    const keys = new Set(members.members.flatMap((m) => m.keys));
    const current = this.signers.filter((s) => keys.has(didFromPublicKey(s.publicKey)));
    // A peer left with no current member key still records what it computed, under its old keys:
    // such a certificate counts for nothing, but shows which keys stopped certifying.
    const signers = current.length > 0 ? current : this.signers;
    if (signers.length === 0) return null;
    return { checkpoint: cp, signatures: signers.map((s) => signCheckpoint(cp, s)) };
  }
}

/** Writes the genesis block: members into the state, no transactions. */
export function commitGenesis(store: SqliteStore, genesis: Genesis, signers: Signer[]): void {
  const writes = new Map<string, string | null>();
  const ctx = {
    put(key: string, value: unknown) {
      writes.set(key, canonicalize(value));
    },
  } as unknown as Pick<ExecContext, 'put'>;
  writeGenesisMembers(ctx, genesis);
  const log = new LedgerLog(store);
  const tree = LedgerTree.load(store);
  const treeUpdate = tree.apply(writes);
  const header: BlockHeader = {
    chainId: genesis.chainId,
    height: 0,
    prevHash: ZERO_HASH,
    time: genesis.time,
    logSize: 0,
    logRoot: toHex(log.root(0)),
    stateRoot: toHex(treeUpdate.root),
    proposer: 'genesis',
    txCount: 0,
  };
  const cp = checkpointOf(header);
  // Only genesis member keys sign the genesis checkpoint (a peer may also hold keys governance adds later).
  const genesisKeys = new Set(genesis.members.flatMap((m) => m.keys));
  const members = signers.filter((s) => genesisKeys.has(didFromPublicKey(s.publicKey)));
  const qc = members.length > 0 ? { checkpoint: cp, signatures: members.map((s) => signCheckpoint(cp, s)) } : null;
  store.db.transaction(() => {
    store.setMeta('genesis', genesisText(genesis));
    store.setMeta('chainId', genesis.chainId);
    store.commitBlock({
      header,
      hash: headerHash(header),
      txs: [],
      results: [],
      stateWrites: writes,
      logNodes: [],
      treeWrites: treeUpdate.writes,
      qc,
    });
  })();
  tree.commit();
}
