/**
 * How peers exchange checkpoint signatures (the node's side of quorum finality): each peer publishes
 * the signatures of the member keys it holds over the checkpoint of every block it commits, and
 * hands whatever the other peers published to its node, which checks it (`QuorumTracker`).
 */
import type { SignedCheckpoint } from './quorum.js';

export interface CheckpointExchange {
  /**
   * Starts delivering what peers publish to `receive` (untrusted values). `unfinal` lists the
   * heights this peer still waits on, so that the exchange can read again what it may have missed.
   */
  start(receive: (raw: unknown) => void, unfinal: () => number[]): Promise<void>;
  /** Publishes one member's signatures over a checkpoint; retried in the background. */
  publish(memberId: string, signed: SignedCheckpoint): void;
  stop(): Promise<void>;
}
