/**
 * How peers exchange checkpoint signatures (the node's side of quorum finality): each peer publishes
 * the signatures of the member keys it holds over the checkpoint of every block it commits, and
 * hands whatever the other peers published to its node, which checks it (`QuorumTracker`). Both
 * ways go in batches: what is published meanwhile goes out together, and what arrives together
 * (one watch event, one re-read) is handed over together, so that the node verifies it in one
 * batch off the event loop.
 */
import type { SignedCheckpoint } from './quorum.js';

export interface CheckpointExchange {
  /**
   * Starts delivering what peers publish to `receive` (untrusted values, each `{checkpoint,
   * signatures}`), as many at once as arrived together. `unfinal` lists the heights this peer
   * still waits on, so that the exchange can read again what it may have missed.
   */
  start(receive: (raws: unknown[]) => void, unfinal: () => number[]): Promise<void>;
  /** Publishes one member's signatures over a checkpoint; retried in the background. */
  publish(memberId: string, signed: SignedCheckpoint): void;
  stop(): Promise<void>;
}
