/**
 * What the contract runtime takes and gives: a call request with its state view and system hook,
 * and a result. Designed for a `contract.*` system module calling it synchronously inside block
 * execution (part 2): everything here is synchronous and reads only what it is given.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { ResultCode } from '@custos/protocol/ledger';
import type { ContractManifest } from './manifest.js';

/**
 * Result codes of a contract call. The runtime's own: OUT_OF_GAS, CONTRACT_ERROR (the contract
 * threw, did not parse, or returned no JSON), CONTRACT_FORBIDDEN (it used a capability it does not
 * have). Reused from the ledger's codes: INVALID_ARGS (the call's input), LIMIT_EXCEEDED (a bound of
 * CONTRACT_LIMITS, memory or stack), and whatever code a refused system action carries.
 */
export type ContractCode = 'OK' | 'OUT_OF_GAS' | 'CONTRACT_ERROR' | 'CONTRACT_FORBIDDEN' | ResultCode;

/** The contract's committed state as the caller sees it (the runtime adds the call's own writes). */
export interface ContractStateView {
  /** Canonical JSON text at a full state key, or undefined. */
  get(key: string): string | undefined;
  /** Entries under a full-key prefix with keys after `after` (exclusive), in key order, at most `limit`. */
  range(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[];
}

/** State access a system action gets: full keys, through the call's overlay (rolled back with it). */
export interface SystemState {
  get(key: string): JsonValue | undefined;
  put(key: string, value: JsonValue): void;
  del(key: string): void;
}

export interface SystemCallContext {
  readonly contract: string;
  readonly manifest: ContractManifest;
  readonly caller: string;
  readonly height: number;
  readonly time: number;
  readonly state: SystemState;
}

/**
 * The hook through which granted system actions run (`data.access`, `data.share`, ...; wired in
 * part 2). `call` returns the action's JSON answer, or throws `SystemActionRefused` to end the
 * contract call with that code. Any other exception is a fault of the node and propagates.
 */
export interface ContractSystemHost {
  call(action: string, args: JsonValue, ctx: SystemCallContext): JsonValue;
}

export class SystemActionRefused extends Error {
  readonly code: ResultCode;
  constructor(code: ResultCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ContractCall {
  /** Contract id: its state lives under `contract/<id>/`. */
  readonly contract: string;
  readonly code: string;
  readonly manifest: ContractManifest;
  /** Exported function to call. */
  readonly method: string;
  readonly args: JsonValue;
  /** did:key or member id of whoever called. */
  readonly caller: string;
  readonly height: number;
  /** Block time (ms): the only clock the contract has. */
  readonly time: number;
  /** Gas limit of this call; the effective limit is also capped by the manifest and CONTRACT_LIMITS. */
  readonly gasLimit: number;
  readonly state: ContractStateView;
  readonly system?: ContractSystemHost;
}

export interface ContractResult {
  ok: boolean;
  code: ContractCode;
  /** Gas used; on OUT_OF_GAS, the whole limit. */
  gasUsed: number;
  gasLimit: number;
  /** Final value (canonical JSON text) or null (deleted) of every full key written; empty unless ok. */
  writes: Map<string, string | null>;
  /** Events emitted, in order; empty unless ok. */
  events: JsonValue[];
  /** The method's return value (JSON), null when it returned nothing or failed. */
  returnValue: JsonValue;
  /** What went wrong, naming the limit or capability; never a state value or an argument. */
  error?: string;
}

/** Prefix of every state key of contract `id`. */
export function contractStatePrefix(id: string): string {
  return `contract/${id}/`;
}
