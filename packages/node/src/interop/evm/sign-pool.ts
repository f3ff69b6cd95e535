/**
 * Off-thread secp256k1 signing for a member's decision signer (`EvmDecisionSigner`): a pass that
 * signs many decisions at once (a burst of cross-chain transactions) does it in one worker thread,
 * so that the peer's main thread, which also runs the member's Custos node, is not held up by
 * @noble/curves' constant-time signing (0.4 to 0.9 ms a signature). A few signatures are made on the
 * calling thread: a message to the worker would cost more than it saves, and one transaction at a
 * time keeps its latency. With libsecp256k1 installed (crypto/secp256k1.ts, about 0.04 ms a
 * signature) every job is signed on the calling thread: the worker would only add its messages.
 * The signatures are the same either way (RFC 6979, deterministic).
 *
 * The secret key travels to the worker with each job, inside this process's memory only (a
 * structured clone, never written anywhere), and the worker keeps nothing between jobs.
 */
import { Worker } from 'node:worker_threads';
import { evmSign, secp256k1IsNative } from '@custos/protocol/interop';
import { NodeError } from '../../errors.js';

/** Jobs smaller than this are signed on the calling thread. */
export const INLINE_SIGNATURES = 4;
/** Digests one job takes at most (a pass signs the open decisions it found, far fewer). */
export const MAX_DIGESTS_PER_JOB = 10_000;

// Compiled, the worker sits next to this module; run from source (tests), it is the built one in dist/.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/interop/evm/sign-worker.js', import.meta.url)
  : new URL('./sign-worker.js', import.meta.url);

/** A job for the worker, and its answer. */
export interface SignJob {
  id: number;
  key: Uint8Array;
  digests: Uint8Array[];
}
export interface SignReply {
  id: number;
  signatures?: `0x${string}`[];
  error?: string;
}

interface Pending {
  resolve: (signatures: `0x${string}`[]) => void;
  reject: (error: Error) => void;
}

export class EvmSignPool {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Pending>();
  private nextId = 0;
  /** Set once the worker could not run: from then on, everything is signed on the calling thread. */
  private broken = false;

  /**
   * Signs each 32-byte digest with `key` as Ethereum does (`r || s || v`, low s); the signatures in
   * the digests' order. BAD_REQUEST for a key or digest of the wrong size, or too many digests.
   */
  async signAll(digests: readonly Uint8Array[], key: Uint8Array): Promise<`0x${string}`[]> {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new NodeError('BAD_REQUEST', 'expected a 32-byte secp256k1 secret key');
    }
    if (digests.length > MAX_DIGESTS_PER_JOB) {
      throw new NodeError('BAD_REQUEST', `expected at most ${MAX_DIGESTS_PER_JOB} digests, got ${digests.length}`);
    }
    for (const [i, d] of digests.entries()) {
      if (!(d instanceof Uint8Array) || d.length !== 32) {
        throw new NodeError('BAD_REQUEST', `digests[${i}]: expected 32 bytes`);
      }
    }
    if (digests.length < INLINE_SIGNATURES || this.broken || secp256k1IsNative()) {
      return digests.map((d) => evmSign(d, key));
    }
    try {
      return await this.run(digests, key);
    } catch {
      // A worker that cannot start or died: the same signatures, made here.
      this.broken = true;
      return digests.map((d) => evmSign(d, key));
    }
  }

  /** Stops the worker (a later job starts a new one). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }

  private run(digests: readonly Uint8Array[], key: Uint8Array): Promise<`0x${string}`[]> {
    const worker = this.spawn();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      // A worker with jobs keeps the process alive; an idle one does not.
      worker.ref();
      worker.postMessage({ id, key, digests: [...digests] } satisfies SignJob);
    });
  }

  private spawn(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    worker.on('message', (msg: SignReply) => {
      const job = this.jobs.get(msg.id);
      if (job === undefined) return;
      this.jobs.delete(msg.id);
      if (this.jobs.size === 0) worker.unref();
      if (msg.signatures !== undefined) job.resolve(msg.signatures);
      else job.reject(new Error(msg.error ?? 'the signing worker answered nothing'));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const job of this.jobs.values()) job.reject(error);
      this.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the signing worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

let shared: EvmSignPool | undefined;

/** The process's signing pool, shared by its decision signers (one worker thread). */
export function evmSignPool(): EvmSignPool {
  shared ??= new EvmSignPool();
  return shared;
}
