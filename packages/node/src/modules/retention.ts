/**
 * Retention in the org's own systems, with proof (issue 16, "a retention deadline is due"): the
 * org's node runs each mapped system's `expire` on a schedule (connectors/retention.ts) and records
 * the outcome per system, `retention.run {system, outcome, asOf, rows, digest | error}`: how many
 * rows were erased or masked because their retention had ended at `asOf` (the block time the run
 * acted on), and the salted digest of what was there before; never a value. A failed run records
 * its error code only. The last run of each system is kept with a count of runs and of rows.
 *
 * State: `retention/<org>/<system>` -> RetentionRun (readable by the org, like its requests).
 */
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { hash32, signerOrg } from './common.js';
import { DATAMAP_SYSTEM_ID, dataMapInForce } from './datamap.js';
import { STEP_ERROR_CODE } from './request-steps.js';

const MAX_ROWS = 1_000_000_000;

export interface RetentionRun {
  org: string;
  system: string;
  outcome: 'done' | 'failed';
  /** The time retention was counted at (ms): at most the block time. */
  asOf: number;
  rows: number;
  digest: string | null;
  error: string | null;
  /** Runs recorded for this system, this one included. */
  runs: number;
  /** Rows expired over every recorded run. */
  totalRows: number;
  time: number;
  txId: string;
}

export function retentionKey(org: string, system: string): string {
  return `retention/${org}/${system}`;
}

export const retentionModule: Module = {
  name: 'retention',
  actions: {
    run(ctx: ExecContext, args: Args) {
      const org = signerOrg(ctx);
      const system = arg.str(args, 'system', 32, DATAMAP_SYSTEM_ID);
      const outcome = arg.oneOf(args, 'outcome', ['done', 'failed'] as const);
      const map = dataMapInForce(ctx, org);
      if (map === undefined || !map.systems.includes(system)) {
        throw new ExecFailure('NOT_FOUND', `no system '${system}' in the data map ${org} has in force`);
      }
      const asOf = arg.int(args, 'asOf', 0, Number.MAX_SAFE_INTEGER);
      if (asOf > ctx.time) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.asOf at or before the block time');
      }
      let rows = 0;
      let digest: string | null = null;
      let error: string | null = null;
      if (outcome === 'done') {
        arg.only(args, ['system', 'outcome', 'asOf', 'rows', 'digest']);
        rows = arg.int(args, 'rows', 0, MAX_ROWS);
        digest = hash32(args, 'digest');
      } else {
        arg.only(args, ['system', 'outcome', 'asOf', 'error']);
        error = arg.str(args, 'error', 40, STEP_ERROR_CODE);
      }
      const key = retentionKey(org, system);
      const prev = ctx.get(key) as unknown as RetentionRun | undefined;
      if (prev !== undefined && asOf < prev.asOf) {
        throw new ExecFailure('CONFLICT', `a run as of a later time is already recorded for ${system}`);
      }
      const entry: RetentionRun = {
        org,
        system,
        outcome,
        asOf,
        rows,
        digest,
        error,
        runs: (prev?.runs ?? 0) + 1,
        totalRows: (prev?.totalRows ?? 0) + rows,
        time: ctx.time,
        txId: ctx.txId,
      };
      ctx.put(key, entry);
      return 'OK';
    },
  },
};
