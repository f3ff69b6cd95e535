/**
 * Durability off the commit path. A block's SQLite transaction commits without an fsync
 * (`synchronous = NORMAL` for that transaction), so the thread goes on to execute the next block at
 * once; `durable()` then fsyncs the WAL on a libuv thread, and the node acknowledges the block's
 * transactions only when it resolves: nothing acknowledged is lost to a crash or a power cut, and
 * the fsync of block N overlaps the execution of block N + 1. One fsync covers every block
 * committed before it started, so under load fsyncs are shared by several blocks.
 *
 * Checkpoints (copying the WAL back into the database file, with their own fsyncs) run in a worker
 * thread with its own connection, started the first time the WAL passes `CHECKPOINT_BYTES`, instead
 * of inside whichever commit crossed SQLite's auto-checkpoint threshold.
 */
import { closeSync, fstatSync, fsync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** WAL size from which checkpoints are requested (SQLite's default auto-checkpoint is 4 MB). */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
/**
 * Least time between two checkpoint requests. The WAL file keeps its size when SQLite restarts it
 * from the top, so past the threshold a checkpoint is asked for after commits at most this often.
 */
const CHECKPOINT_INTERVAL_MS = 250;
/** After a complete checkpoint SQLite restarts the WAL; it truncates the file back to this size. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

// Compiled, the worker sits next to this module; run from source (tests), it is the built one in dist/.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/store/checkpointer-worker.js', import.meta.url)
  : new URL('./checkpointer-worker.js', import.meta.url);

export class WalPipeline {
  private readonly walFd: number;
  private inFlight: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private worker: Worker | undefined;
  private checkpointing = false;
  private lastCheckpoint = 0;
  private closed = false;
  private failure: Error | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    walFd: number,
    private readonly syncWal: (fd: number, done: (err: Error | null) => void) => void,
  ) {
    this.walFd = walFd;
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  }

  /** The pipeline for a writable WAL-mode store, or undefined where there is no WAL file to sync. */
  static open(
    db: Database.Database,
    path: string,
    syncWal: (fd: number, done: (err: Error | null) => void) => void = fsync,
  ): WalPipeline | undefined {
    if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return undefined;
    let fd: number;
    try {
      fd = openSync(`${path}-wal`, 'r');
    } catch {
      return undefined;
    }
    return new WalPipeline(db, path, fd, syncWal);
  }

  /** Runs `write` as one transaction committed without an fsync; call `durable()` before acknowledging it. */
  commit(write: () => void): void {
    if (this.failure) throw this.failure;
    // Inside a caller's transaction (the genesis block) it commits with that one, at its level.
    if (this.db.inTransaction) {
      this.db.transaction(write)();
      return;
    }
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(write)();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    this.maybeCheckpoint();
  }

  /** Resolves when everything committed so far is on disk; rejects if an fsync failed (the store is then unusable). */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve();
    if (this.next) return this.next;
    if (this.inFlight === undefined) {
      this.inFlight = this.fsyncOnce();
      return this.inFlight;
    }
    // An fsync is running: commits after it started need the next one, shared by all of them.
    const after = this.inFlight.then(() => {
      this.next = undefined;
      this.inFlight = this.fsyncOnce();
      return this.inFlight;
    });
    this.next = after;
    return after;
  }

  /** Waits for the pending fsync and stops the checkpointer; the store closes its connection after. */
  async close(): Promise<void> {
    if (this.closed) return;
    await (this.next ?? this.inFlight)?.catch(() => {});
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Held open until it exits: an unref'ed worker would let the process end with close() pending.
      worker.ref();
      worker.postMessage('close');
      await exited;
    }
    closeSync(this.walFd);
  }

  /** For a synchronous close: stops the checkpointer without waiting (its connection closes with the thread). */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker?.terminate();
    this.worker = undefined;
    closeSync(this.walFd);
  }

  private fsyncOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.syncWal(this.walFd, (err) => {
        if (this.inFlight !== undefined && this.next === undefined) this.inFlight = undefined;
        if (err) {
          this.failure = new Error(`fsync of the write-ahead log failed: ${err.message}`);
          reject(this.failure);
        } else resolve();
      });
    });
  }

  private maybeCheckpoint(): void {
    if (this.checkpointing || performance.now() - this.lastCheckpoint < CHECKPOINT_INTERVAL_MS) return;
    if (fstatSync(this.walFd).size < CHECKPOINT_BYTES) return;
    if (this.worker === undefined) {
      const worker = new Worker(WORKER_URL, { workerData: { path: this.path } });
      worker.unref();
      worker.on('message', () => {
        this.checkpointing = false;
      });
      worker.on('error', () => {
        // A failed checkpointer leaves the WAL to grow until the next start; commits stay correct.
        this.checkpointing = false;
        this.worker = undefined;
      });
      this.worker = worker;
    }
    this.checkpointing = true;
    this.lastCheckpoint = performance.now();
    this.worker.postMessage('checkpoint');
  }
}
