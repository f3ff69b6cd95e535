/**
 * Where contracts live in the state (docs/contracts.md#lifecycle), and their record types. Every
 * value is a point read, so execution, an audit replay and a light client see the same thing.
 *
 * - `contract-info/<id>` -> ContractRecord: status, active code, proposal pending, pause votes, totals.
 * - `contract-code/<digest>` -> ContractCode: code, manifest and declared test calls, by the hex
 *   SHA-256 of the code (the same code is stored once).
 * - `contract-receipt/<txId>` -> CallReceipt of every `contract.call`, failed ones included.
 * - `contract/<id>/...`: the contract's own state (written only by its successful calls).
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { ContractManifest } from '../contracts/manifest.js';

export const INFO_PREFIX = 'contract-info/';
export const CODE_PREFIX = 'contract-code/';
export const RECEIPT_PREFIX = 'contract-receipt/';

export function infoKey(id: string): string {
  return `${INFO_PREFIX}${id}`;
}
export function codeKey(digest: string): string {
  return `${CODE_PREFIX}${digest}`;
}
export function receiptKey(txId: string): string {
  return `${RECEIPT_PREFIX}${txId}`;
}

export type ContractStatus = 'proposed' | 'active' | 'paused' | 'removed';

export interface TestCall {
  method: string;
  args: JsonValue;
  caller: string;
}

export interface StoredCode {
  digest: string;
  code: string;
  manifest: ContractManifest;
  tests: TestCall[];
  /** The pre-vote risk report (contracts/risk-check.ts) every peer computed at `contract.propose`. */
  risk: JsonValue;
}

export interface ContractRecord {
  id: string;
  status: ContractStatus;
  /** Digest of the code in force (null until first activated). */
  digest: string | null;
  version: string | null;
  /** Height from which the code in force runs. */
  activeFrom: number | null;
  /** The latest proposed code, its proposal (a gov proposal id) and version, until decided. */
  pending: { digest: string; version: string; proposal: string; proposedAt: number } | null;
  /** Members that asked for an emergency pause since the contract last ran unpaused (member ids). */
  pauseVotes: string[];
  pausedAt: number | null;
  removedAt: number | null;
  calls: number;
  gasUsed: number;
  /**
   * The last migration an activation ran (`manifest.migrate`): the deciding transaction (its
   * receipt is `contract-receipt/<decidedBy>`), the code it would activate, and how it ended; a
   * code other than OK means that code was not activated.
   */
  migration?: { decidedBy: string; digest: string; height: number; code: string; gasUsed: number };
}

export interface CallReceipt {
  contract: string;
  method: string;
  caller: string;
  code: string;
  gasUsed: number;
  gasLimit: number;
  events: JsonValue[];
  returnValue: JsonValue;
  error?: string;
  /** Ran as an operation of a cross-chain transaction: its writes apply only if that commits. */
  held?: true;
}
