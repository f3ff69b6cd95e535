/**
 * What governance does to a contract (docs/contracts.md#lifecycle): the `contract.*` kinds of a
 * gov proposal, checked when proposed and again when a vote executes them, and applied by the
 * deciding vote. `contract.propose` opens the `contract.activate` proposal itself.
 */
import type { GovAction } from '@custos/protocol/ledger';
import { CONTRACT_NAME } from '../contracts/manifest.js';
import { type Args, arg, type ExecContext, ExecFailure, type ExecHost } from '../exec/module.js';
import { runMigration } from './contract-migrate.js';
import { type ContractRecord, codeKey, infoKey, type StoredCode } from './contract-state.js';

export type ContractAction = Extract<GovAction, { kind: `contract.${string}` }>;
const DIGEST = /^[0-9a-f]{64}$/;
const MAX_HEIGHT = 2 ** 48;

export function isContractAction(a: GovAction): a is ContractAction {
  return a.kind.startsWith('contract.');
}

/** Parses the fields of a contract action (`a.kind` already checked). */
export function parseContractAction(kind: ContractAction['kind'], a: Args): ContractAction {
  const contract = arg.str(a, 'contract', 63, CONTRACT_NAME);
  if (kind === 'contract.activate') {
    return { kind, contract, digest: arg.str(a, 'digest', 64, DIGEST), at: arg.int(a, 'at', 0, MAX_HEIGHT) };
  }
  return { kind, contract };
}

export const CONTRACT_ACTION_FIELDS: Record<ContractAction['kind'], string[]> = {
  'contract.activate': ['kind', 'contract', 'digest', 'at'],
  'contract.resume': ['kind', 'contract'],
  'contract.remove': ['kind', 'contract'],
};

export function contractRecord(ctx: Pick<ExecContext, 'get'>, id: string): ContractRecord | undefined {
  return ctx.get(infoKey(id)) as unknown as ContractRecord | undefined;
}

function existing(ctx: Pick<ExecContext, 'get'>, id: string): ContractRecord {
  const r = contractRecord(ctx, id);
  if (r === undefined) throw new ExecFailure('NOT_FOUND', `no contract '${id}'`);
  if (r.status === 'removed')
    throw new ExecFailure('CONFLICT', `contract '${id}' was removed at height ${r.removedAt}`);
  return r;
}

/** Throws the code `action` would end with now (nothing written). */
export function checkContractAction(ctx: Pick<ExecContext, 'get'>, action: ContractAction): void {
  const r = existing(ctx, action.contract);
  switch (action.kind) {
    case 'contract.activate':
      if (r.pending?.digest !== action.digest) {
        throw new ExecFailure(
          'CONFLICT',
          `code ${action.digest.slice(0, 12)}… is not the pending proposal of '${r.id}'`,
        );
      }
      if (ctx.get(codeKey(action.digest)) === undefined) throw new ExecFailure('NOT_FOUND', 'no such contract code');
      return;
    case 'contract.resume':
      if (r.status !== 'paused') throw new ExecFailure('CONFLICT', `contract '${r.id}' is ${r.status}, not paused`);
      return;
    case 'contract.remove':
      return;
  }
}

/** Applies a checked contract action in the deciding transaction. */
export function applyContractAction(ctx: ExecContext, action: ContractAction, host?: ExecHost): void {
  const r = existing(ctx, action.contract);
  switch (action.kind) {
    case 'contract.activate': {
      const code = ctx.get(codeKey(action.digest)) as unknown as StoredCode;
      if (code.manifest.migrate !== undefined) {
        const m = runMigration(ctx, r, code, host);
        const { code: result, gasUsed } = m.receipt;
        r.migration = { decidedBy: ctx.txId, digest: action.digest, height: ctx.height, code: result, gasUsed };
        r.gasUsed += gasUsed;
        if (!m.ok) {
          // The upgrade does not activate: the code in force and its state stay as they were.
          r.pending = null;
          break;
        }
      }
      Object.assign(r, {
        digest: action.digest,
        version: code.manifest.version,
        activeFrom: Math.max(action.at, ctx.height + 1),
        // An upgrade of a paused contract stays paused until a resume vote.
        status: r.status === 'paused' ? 'paused' : 'active',
        pending: null,
      });
      break;
    }
    case 'contract.resume':
      Object.assign(r, { status: r.digest === null ? 'proposed' : 'active', pausedAt: null, pauseVotes: [] });
      break;
    case 'contract.remove':
      Object.assign(r, { status: 'removed', removedAt: ctx.height, pending: null, pauseVotes: [] });
      break;
  }
  ctx.put(infoKey(r.id), r);
}

/**
 * Pause votes needed with `members` current members: a third, rounded up. One member of a
 * consortium of up to three can stop a contract it sees misbehaving at once; in larger ones a single
 * member cannot freeze the others' agreements. A pause is undone by a majority (`contract.resume`).
 */
export function pauseQuorum(members: number): number {
  return Math.max(1, Math.ceil(members / 3));
}
