/**
 * A correction carried into the company's systems, as the customer reads it (GDPR Art. 16): the
 * systems `rectify.apply` named (those of the company's data map that hold the corrected category)
 * and, from the customer's own verified history, each system's `rectify.step`: "Corrected in 2 of 3
 * systems so far; it failed in crm and will be run again". Every step shown is a proven event.
 */
import type { Rectification } from '@custos/protocol/ledger';
import type { EventView } from './company.js';
import type { StepEvidence } from './evidence.js';

export interface CorrectionEvidence {
  item: string;
  /** The latest step of each system, in the order the company named its systems. */
  steps: StepEvidence[];
  /** Systems where the correction is done. */
  complete: number;
  /** Systems the correction must reach. */
  total: number;
  /** "Corrected in 3 of 3 systems", "Corrected in 1 of 2 systems so far; it failed in crm and will be run again". */
  summary: string;
}

/** The evidence of an applied correction that names systems, or undefined (pending, explained, no systems). */
export function correctionEvidence(
  item: Pick<Rectification, 'id' | 'status' | 'systems'>,
  events: readonly Pick<EventView, 'type' | 'code' | 'tx' | 'at' | 'txId' | 'height' | 'index'>[],
): CorrectionEvidence | undefined {
  const systems = item.systems;
  if (item.status !== 'applied' || systems === undefined || systems.length === 0) return undefined;
  const bySystem = new Map<string, StepEvidence>();
  const mine = events
    .filter((e) => e.type === 'rectify.step' && e.code === 'OK' && e.tx.body.args.item === item.id)
    .sort((a, b) => a.height - b.height || a.index - b.index);
  for (const e of mine) {
    const a = e.tx.body.args as Record<string, unknown>;
    const system = typeof a.system === 'string' ? a.system : '';
    if (!systems.includes(system) || (a.outcome !== 'done' && a.outcome !== 'failed')) continue;
    bySystem.set(system, {
      system,
      step: 'rectify',
      outcome: a.outcome,
      rows: typeof a.rows === 'number' ? a.rows : 0,
      digest: typeof a.digest === 'string' ? a.digest : null,
      exception: null,
      error: typeof a.error === 'string' ? a.error : null,
      at: e.at,
      txId: e.txId,
      height: e.height,
    });
  }
  const steps = systems.map((s) => bySystem.get(s)).filter((s): s is StepEvidence => s !== undefined);
  const complete = steps.filter((s) => s.outcome === 'done').length;
  const total = systems.length;
  const failed = steps.filter((s) => s.outcome === 'failed').map((s) => s.system);
  const of = `Corrected in ${complete} of ${total} system${total === 1 ? '' : 's'}`;
  const summary =
    complete === total
      ? of
      : failed.length > 0
        ? `${of} so far; it failed in ${failed.join(', ')} and will be run again`
        : `${of} so far`;
  return { item: item.id, steps, complete, total, summary };
}
