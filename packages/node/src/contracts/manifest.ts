/**
 * A contract's manifest: what it is and what it may do. For now the runtime reads `namespaces`
 * (where its state lives), `grants` (the system actions it may ask for) and `maxGas`; part 2 of
 * issue 14 (lifecycle) adds its proposal, votes and activation.
 */
import { CONTRACT_LIMITS } from './limits.js';

export interface ContractManifest {
  /** Contract name, also its id on the chain. */
  readonly name: string;
  readonly version: string;
  /** State namespaces: every key the contract reads or writes starts with one of them and `/`. */
  readonly namespaces: readonly string[];
  /** System actions (`module.action`) the contract may call through `host.system`. */
  readonly grants: readonly string[];
  /** Data categories and purposes it may touch (checked by the system actions, part 2). */
  readonly categories: readonly string[];
  readonly purposes: readonly string[];
  /** Gas limit of one call, at most CONTRACT_LIMITS.maxGasPerCall. */
  readonly maxGas: number;
  /**
   * The exported method the activating vote runs once, under `maxGas`, against the state the
   * contract has then (an upgrade's migration; docs/contracts.md#upgrades-and-migrations).
   */
  readonly migrate?: string;
}

export const CONTRACT_NAME = /^[a-z][a-z0-9-]{1,62}$/;
export const NAMESPACE = /^[a-z][a-z0-9_-]{0,31}$/;
export const SYSTEM_ACTION = /^[a-z]{1,32}\.[A-Za-z]{1,64}$/;
const METHOD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/;
const TERM = /^[A-Za-z0-9:._-]{1,128}$/;

export class ManifestError extends Error {}

function list(v: unknown, name: string, max: number, pattern: RegExp, min = 0): string[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) {
    throw new ManifestError(`expected manifest.${name} as a list of ${min}-${max} strings`);
  }
  for (const x of v) {
    if (typeof x !== 'string' || !pattern.test(x)) {
      throw new ManifestError(`expected each of manifest.${name} to match ${pattern.source}`);
    }
  }
  if (new Set(v).size !== v.length) throw new ManifestError(`expected manifest.${name} without duplicates`);
  return [...(v as string[])];
}

/** Checks a manifest (from JSON) strictly; the error says which field and what was expected. */
export function parseManifest(value: unknown): ContractManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError('expected the manifest as a JSON object');
  }
  const m = value as Record<string, unknown>;
  const allowed = ['name', 'version', 'namespaces', 'grants', 'categories', 'purposes', 'maxGas', 'migrate'];
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k))
      throw new ManifestError(`unexpected manifest.${k.slice(0, 40)}; expected ${allowed.join(', ')}`);
  }
  if (typeof m.name !== 'string' || !CONTRACT_NAME.test(m.name)) {
    throw new ManifestError(`expected manifest.name to match ${CONTRACT_NAME.source}`);
  }
  if (typeof m.version !== 'string' || !VERSION.test(m.version)) {
    throw new ManifestError('expected manifest.version as MAJOR.MINOR.PATCH');
  }
  const maxGas = m.maxGas;
  if (
    typeof maxGas !== 'number' ||
    !Number.isSafeInteger(maxGas) ||
    maxGas < 1 ||
    maxGas > CONTRACT_LIMITS.maxGasPerCall
  ) {
    throw new ManifestError(`expected manifest.maxGas as an integer from 1 to ${CONTRACT_LIMITS.maxGasPerCall}`);
  }
  if (m.migrate !== undefined && (typeof m.migrate !== 'string' || !METHOD_NAME.test(m.migrate))) {
    throw new ManifestError(`expected manifest.migrate as the name of an exported method (${METHOD_NAME.source})`);
  }
  return {
    ...(m.migrate === undefined ? {} : { migrate: m.migrate }),
    name: m.name,
    version: m.version,
    namespaces: list(m.namespaces, 'namespaces', 8, NAMESPACE, 1),
    grants: list(m.grants ?? [], 'grants', 32, SYSTEM_ACTION),
    categories: list(m.categories ?? [], 'categories', 32, TERM),
    purposes: list(m.purposes ?? [], 'purposes', 32, TERM),
    maxGas,
  };
}

/** True if the manifest grants the system action `action` (exact `module.action` match). */
export function isGranted(manifest: ContractManifest, action: string): boolean {
  return manifest.grants.includes(action);
}

/** The namespace a contract key belongs to (its first segment), or undefined if it has none. */
export function namespaceOf(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash <= 0 ? undefined : key.slice(0, slash);
}
