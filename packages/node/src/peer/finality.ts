/**
 * Finality tracking: a committed block is final once a quorum of members signed the checkpoint this
 * peer computed for it. The tracker opens each height with this peer's own signatures, publishes
 * them on the checkpoint exchange (in a consortium), counts what the other peers publish, records
 * evidence of conflicting signatures, and stops the peer when its checkpoint loses to another.
 * What the exchange delivers together is verified in one batch on the worker pool, then counted
 * in the order it arrived.
 */
import { publicKeyFromDid } from '@custos/protocol/crypto';
import { fromBase64url } from '@custos/protocol/encoding';
import { canonicalize as canonicalJson } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  type CheckpointSignature,
  checkpointOf,
  checkpointSigningBytes,
  type MemberSet,
  type QuorumCertificate,
} from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import type { VerifyItem, VerifyPool } from '../crypto/verify-pool.js';
import { NodeError } from '../errors.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { BlockCommitter } from './commit.js';
import type { CheckpointExchange } from './exchange.js';
import {
  type Evidence,
  parseSigned,
  type QuorumEvent,
  QuorumTracker,
  type SignedCheckpoint,
  type VerifiedSignatures,
  verifiedKey,
} from './quorum.js';

/** Where the node is in finality: the latest committed and the latest final height. */
export interface FinalityStatus {
  head: number;
  final: number;
}

/** What the tracker needs of its node. */
export interface FinalityHost {
  store: SqliteStore;
  chain: BlockCommitter;
  chainId: string;
  exchange: CheckpointExchange | undefined;
  /** Where the other peers' signatures are verified. */
  pool: VerifyPool;
  /** Emits `final`, `conflict` on the node. */
  emit: (event: string, value: unknown) => void;
  /** Stops the node for good with `err`. */
  halt: (err: unknown) => void;
  /** The error that stopped the node, if one did. */
  fatal: () => unknown;
  /** Whether the node is stopping or stopped. */
  stopped: () => boolean;
}

interface FinalWaiter {
  resolve: (qc: QuorumCertificate) => void;
  reject: (e: unknown) => void;
}

/** How far back a restarted peer looks for heights it can still collect signatures for. */
const RESUME_WINDOW = 1024;

export class FinalityTracker {
  private readonly host: FinalityHost;
  private readonly quorum: QuorumTracker;
  private finalHeight = -1;
  /**
   * The latest height whose round is open here. A block is committed before it is on disk, and its
   * round opens only then: signatures for it that arrive meanwhile must wait for the round like
   * those for a height not committed yet, not be dropped as if it were long done.
   */
  private opened = -1;
  private readonly waiters = new Map<number, FinalWaiter[]>();
  /** The tail of the chain that counts received signatures in arrival order. */
  private receiving: Promise<void> = Promise.resolve();

  constructor(host: FinalityHost) {
    this.host = host;
    this.quorum = new QuorumTracker(nativeVerifier, host.chainId);
  }

  /** Starts receiving the other peers' signatures, and publishes this peer's for the heights not yet final. */
  async start(): Promise<void> {
    const exchange = this.host.exchange;
    if (!exchange) return;
    await exchange.start(
      (raws) => this.onSignatures(raws),
      () => this.waiting(),
    );
    for (const h of this.quorum.unfinal()) this.publishOwn(h);
    // What the exchange's first read brought is counted before the node is handed out: a
    // divergence it shows stops the node while it opens.
    await this.receiving;
  }

  /**
   * Heights committed here that still wait for signatures, oldest first: the exchange reads them
   * again in case it missed some. A height final through a later certificate (its own signatures
   * lost) waits no more: left in, such heights would crowd the newest ones out of a bounded re-read.
   */
  private waiting(): number[] {
    return this.quorum.unfinal().filter((h) => h > this.finalHeight);
  }

  /** On open: the latest height whose stored certificate is a quorum; later heights wait for signatures again. */
  resume(): void {
    const { store, chain } = this.host;
    const head = chain.head;
    const members = chain.headMembers;
    const memberOf = new Map<string, string>();
    for (const m of members.members) for (const k of m.keys) memberOf.set(k, m.id);
    const isQuorum = (qc: QuorumCertificate | null | undefined) =>
      qc != null &&
      new Set(qc.signatures.map((s) => memberOf.get(s.signer)).filter((m) => m !== undefined)).size >=
        members.threshold;
    // Heights are looked at within the window a restarted peer can still collect signatures for.
    const lowest = Math.max(0, head.height - RESUME_WINDOW);
    let h = head.height;
    while (h >= lowest && !isQuorum(store.getHeader(h)?.qc)) h--;
    this.finalHeight = h >= lowest ? h : -1;
    this.opened = head.height;
    for (let x = Math.max(this.finalHeight + 1, lowest); x <= head.height; x++) {
      const row = store.getHeader(x);
      if (row !== null) this.handle(this.quorum.open(checkpointOf(row.header), members, row.qc?.signatures ?? []));
    }
  }

  /**
   * After the commit of `header` (certified by `members`) is on disk: final at once if this peer's
   * own keys make a quorum; else it waits for the other peers.
   */
  afterCommit(header: BlockHeader, members: MemberSet): void {
    const height = header.height;
    const own = this.host.store.getHeader(height)?.qc?.signatures ?? [];
    this.opened = Math.max(this.opened, height);
    this.handle(this.quorum.open(checkpointOf(header), members, own));
    if (this.host.exchange) this.publishOwn(height);
  }

  /** A block applied with a quorum certificate another peer served: final at once. */
  certified(height: number, qc: QuorumCertificate, members: MemberSet): void {
    this.opened = Math.max(this.opened, height);
    this.quorum.open(qc.checkpoint, members, qc.signatures);
    this.markFinal(height, qc);
  }

  /** Records the evidence of a divergence and stops the node with DIVERGED. */
  diverged(evidence: Evidence): void {
    this.recordEvidence('divergence', evidence);
    this.host.halt(
      new NodeError(
        'DIVERGED',
        `members ${evidence.members.join(', ')} signed another checkpoint at height ${evidence.height} than this peer computed; stopped`,
        { details: { evidence } },
      ),
    );
  }

  /** The latest height known final on this peer (a quorum of members signed its checkpoint); -1 if none. */
  latestFinal(): number {
    return this.finalHeight;
  }

  /**
   * Resolves with the quorum certificate of the latest final height once it is at or above `height`;
   * rejects with TIMEOUT after `timeoutMs`, or NODE_STOPPED when the node stops.
   */
  waitFinal(height: number, timeoutMs: number): Promise<QuorumCertificate> {
    if (this.finalHeight >= height) {
      const qc = this.host.store.getHeader(this.finalHeight)?.qc;
      if (qc) return Promise.resolve(qc);
    }
    if (this.host.fatal() !== undefined || this.host.stopped()) {
      return Promise.reject(new NodeError('NODE_STOPPED', 'node is stopped'));
    }
    return new Promise((resolve, reject) => {
      const w: FinalWaiter = {
        resolve: (qc) => {
          clearTimeout(timer);
          resolve(qc);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const list = this.waiters.get(height) ?? [];
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.waiters.delete(height);
        reject(new NodeError('TIMEOUT', `block ${height} was not final within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.waiters.get(height);
      if (list) list.push(w);
      else this.waiters.set(height, [w]);
    });
  }

  /** Rejects every `waitFinal` still waiting. */
  rejectWaiters(err: () => unknown): void {
    for (const [h, list] of this.waiters) {
      this.waiters.delete(h);
      for (const w of list) w.reject(err());
    }
  }

  /** Publishes this peer's signatures over its checkpoint at `height`, one entry per member it holds keys of. */
  private publishOwn(height: number): void {
    const { store, chain, exchange } = this.host;
    const row = store.getHeader(height);
    if (!exchange || !row?.qc) return;
    const members = chain.headMembers;
    const byMember = new Map<string, CheckpointSignature[]>();
    for (const s of row.qc.signatures) {
      const m = members.members.find((x) => x.keys.includes(s.signer));
      if (m !== undefined) byMember.set(m.id, [...(byMember.get(m.id) ?? []), s]);
    }
    for (const [memberId, signatures] of byMember) {
      exchange.publish(memberId, { checkpoint: row.qc.checkpoint, signatures });
    }
  }

  /**
   * Signatures from the exchange (untrusted; the tracker checks them): the ones the tracker would
   * verify are verified now, in one batch on the worker pool; then all are counted, in the order
   * they arrived.
   */
  private onSignatures(raws: readonly unknown[]): void {
    if (this.host.fatal() !== undefined || this.host.stopped()) return;
    const signed = raws.map((r) => parseSigned(r, this.host.chainId)).filter((s) => s !== undefined);
    if (signed.length === 0) return;
    const verifying = this.verifyAll(signed);
    this.receiving = this.receiving
      .then(() => verifying)
      .then((known) => {
        // Counted one by one, handled together: the certificates of every height this batch made
        // final are stored in one SQLite transaction.
        const events: QuorumEvent[] = [];
        for (const sc of signed) {
          if (this.host.fatal() !== undefined || this.host.stopped()) break;
          events.push(...this.quorum.receive(sc, this.opened, known));
        }
        this.handle(events);
      })
      .catch(() => {
        // As when they were counted one by one: a failure here (the pool closed under a stopping
        // node, say) loses nothing the exchange does not deliver again while the height waits.
      });
  }

  /** Verifies, in one batch, what the tracker would verify of `signed` one by one. */
  private async verifyAll(signed: readonly SignedCheckpoint[]): Promise<VerifiedSignatures> {
    const known = new Map<string, boolean>();
    const keys: string[] = [];
    const items: VerifyItem[] = [];
    const head = this.opened;
    for (const sc of signed) {
      const ckey = canonicalJson(sc.checkpoint as never);
      let message: Uint8Array | undefined;
      for (const s of this.quorum.unchecked(sc, head)) {
        const key = verifiedKey(ckey, s);
        if (known.has(key)) continue;
        let item: VerifyItem;
        try {
          message ??= checkpointSigningBytes(sc.checkpoint);
          item = { publicKey: publicKeyFromDid(s.signer), message, signature: fromBase64url(s.sig, 64) };
        } catch {
          known.set(key, false);
          continue;
        }
        known.set(key, false);
        keys.push(key);
        items.push(item);
      }
    }
    if (items.length > 0) {
      const ok = await this.host.pool.verifyBatch(items);
      for (let i = 0; i < keys.length; i++) known.set(keys[i]!, ok[i] === true);
    }
    return known;
  }

  private handle(events: QuorumEvent[]): void {
    if (this.host.fatal() !== undefined) return;
    // What comes after a divergence is never handled: the node stops there.
    const diverged = events.findIndex((e) => e.kind === 'diverged');
    this.storeCertificates(events.slice(0, diverged < 0 ? events.length : diverged));
    for (const e of events) {
      if (this.host.fatal() !== undefined) return;
      if (e.kind === 'final') {
        this.markFinal(e.height, e.qc);
      } else if (e.kind === 'conflict') {
        const at = String(e.evidence.height).padStart(16, '0');
        this.recordEvidence(`evidence/${at}/${e.evidence.members.join(',')}`, e.evidence);
        this.host.emit('conflict', e.evidence);
      } else {
        this.diverged(e.evidence);
      }
    }
  }

  /**
   * Stores the quorum certificates of the heights `events` made final, in one SQLite transaction
   * committed without an fsync on this thread: the WAL is synced off the event loop right after
   * (`store.durable()`), and by every later block's commit. A certificate lost to a crash before
   * that sync is collected again from the exchange when the peer restarts (`resume`): each one is
   * member signatures any peer can check, not something this peer vouches for.
   */
  private storeCertificates(events: readonly QuorumEvent[]): void {
    const store = this.host.store;
    const writes: { height: number; qc: QuorumCertificate }[] = [];
    for (const e of events) {
      if (e.kind !== 'final') continue;
      const stored = store.getHeader(e.height)?.qc;
      // Keep the commit-time certificate when this peer's own keys already made it a quorum.
      if (!stored || stored.signatures.length < e.qc.signatures.length) writes.push(e);
    }
    if (writes.length === 0) return;
    const db = store.db;
    const write = db.transaction(() => {
      for (const w of writes) store.setQc(w.height, w.qc);
    });
    if (db.inTransaction) {
      write();
      return;
    }
    const level = db.pragma('synchronous', { simple: true }) as number;
    db.pragma('synchronous = NORMAL');
    try {
      write();
    } finally {
      db.pragma(`synchronous = ${level}`);
    }
    store.durable().catch(() => {
      // A failed WAL sync makes the store unusable; the next block's commit reports it.
    });
  }

  private recordEvidence(key: string, evidence: Evidence): void {
    try {
      if (this.host.store.db.open) this.host.store.setMeta(key, canonicalJson(evidence as never));
    } catch {
      // The store may be failing too; the fatal error still carries the evidence.
    }
  }

  private markFinal(height: number, qc: QuorumCertificate): void {
    if (height <= this.finalHeight) return;
    this.finalHeight = height;
    this.host.emit('final', { height, qc });
    for (const [h, list] of this.waiters) {
      if (h > height) continue;
      this.waiters.delete(h);
      for (const w of list) w.resolve(qc);
    }
  }
}
