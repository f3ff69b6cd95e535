/**
 * A request's execution in the org's own systems (issue 16, point 4), as the requests queue shows it:
 * each system's step (done with its rows, failed with the error code and attempts, kept under a legal
 * exception, or pending), "complete in N of M systems", and the operator's two ways out of a pause:
 * re-run from the failed system (the node's connectors resume there), or record a legal exception
 * of the request's jurisdiction for one system (an erasure only), in words.
 */
import { ERASURE_EXCEPTIONS } from '@custos/protocol/ledger';
import type { CustosClient, RequestExecution, RequestStepState, RequestSteps } from '@custos/sdk';
import { erasureExceptionText } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { day } from '../lib/format.js';
import { Badge, ConfirmDialog } from '../ui/ui.js';

/** Kinds whose answer runs a step in each system of the data map. */
export const STEP_KINDS = new Set(['access', 'export', 'erase', 'rectify']);
/** Open requests whose steps the queue loads at once (the oldest deadlines first). */
export const MAX_STEP_REQUESTS = 50;

/** The steps of each open request that runs steps, by request id (requests of orgs without a data map are left out). */
export async function loadOpenSteps(
  api: CustosClient,
  org: string,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, RequestSteps>> {
  const out = new Map<string, RequestSteps>();
  const queue = ids.slice(0, MAX_STEP_REQUESTS);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const s = await api.requestSteps(org, id, { signal });
      if (s.systems > 0) out.set(id, s);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** `1 row`, `3 rows`: digits, as the counts beside them. */
const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

const DONE_VERB: Record<string, string> = { erase: 'Erased', export: 'Exported', rectify: 'Corrected' };

/** One system's step as a badge: done with its rows and day, failed with its code and runs, kept, or pending. */
export function stepBadge(x: RequestStepState) {
  if (x.outcome === 'done') {
    return (
      <Badge tone="ok">
        {DONE_VERB[x.step ?? ''] ?? 'Done'} {n(x.rows ?? 0, 'row', 'rows')} on {day(x.time ?? 0)}
      </Badge>
    );
  }
  if (x.outcome === 'failed') {
    const attempts = x.attempts === undefined ? '' : `, ${n(x.attempts, 'attempt', 'attempts')}`;
    return (
      <Badge tone="danger">
        Failed: {x.error} ({n(x.failures ?? 1, 'run', 'runs')}
        {attempts})
      </Badge>
    );
  }
  if (x.outcome === 'exception') return <Badge tone="warn">Kept: {erasureExceptionText(x.exception ?? '')}</Badge>;
  return <Badge>Pending</Badge>;
}

const complete = (x: RequestStepState) => x.outcome === 'done' || x.outcome === 'exception';

/** The first system not done or excepted: where a run starts again. */
export function resumeFrom(s: RequestSteps): string | undefined {
  return s.steps.find((x) => !complete(x))?.system;
}

/** What a run's answer says, in one sentence for the operator. */
export function runText(r: RequestExecution): { tone: 'ok' | 'danger'; text: string } {
  if (r.status === 'fulfilled') {
    return { tone: 'ok', text: `Fulfilled: complete in ${r.steps.length} of ${r.steps.length} systems.` };
  }
  const failed = r.steps.find((x) => x.outcome === 'failed');
  return {
    tone: 'danger',
    text: `Paused at ${failed?.system ?? 'a system'} after ${n(failed?.attempts ?? 0, 'attempt', 'attempts')}: ${failed?.error ?? 'the step failed'}. Fix the system, then re-run from it, or record a legal exception.`,
  };
}

/** The steps cell of one open request in the queue. */
export function StepsCell({
  s,
  busy,
  onRun,
  onExcept,
}: {
  s: RequestSteps;
  busy: boolean;
  onRun: () => void;
  onExcept: () => void;
}) {
  const from = resumeFrom(s);
  const started = s.steps.some((x) => x.outcome !== 'pending');
  return (
    <div className="stack">
      <div>
        <strong>
          Complete in {s.complete} of {n(s.systems, 'system', 'systems')}
        </strong>
      </div>
      <ul className="plain-list" aria-label="Steps in the org's systems">
        {s.steps.map((x) => (
          <li key={x.system}>
            <code>{x.system}</code> {stepBadge(x)}
            {x.message !== undefined && <div className="muted small">{x.message}</div>}
          </li>
        ))}
      </ul>
      <div className="row">
        {s.kind !== 'rectify' && (
          <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={onRun}>
            {from === undefined ? 'Answer' : started ? `Re-run from ${from}` : 'Run in every system'}
          </button>
        )}
        {s.kind === 'erase' && from !== undefined && (
          <button type="button" className="btn btn-small" disabled={busy} onClick={onExcept}>
            Record a legal exception
          </button>
        )}
      </div>
      {s.kind === 'rectify' && from !== undefined && (
        <p className="muted small">A correction carries its new values: run it with custos org request execute.</p>
      )}
    </div>
  );
}

/** The legal exception dialog: one system not yet complete, one code of the request's jurisdiction, in words. */
export function ExceptDialog({
  s,
  onCancel,
  onConfirm,
}: {
  s: RequestSteps | undefined;
  onCancel: () => void;
  onConfirm: (system: string, code: string) => void;
}) {
  const id = useId();
  const systems = s?.steps.filter((x) => !complete(x)).map((x) => x.system) ?? [];
  const codes: readonly string[] = s?.jurisdiction === 'CCPA' ? ERASURE_EXCEPTIONS.CCPA : ERASURE_EXCEPTIONS.GDPR;
  const [system, setSystem] = useState('');
  const [code, setCode] = useState('');
  const chosenSystem = systems.includes(system) ? system : (systems[0] ?? '');
  const chosenCode = codes.includes(code) ? code : (codes[0] ?? '');
  return (
    <ConfirmDialog
      open={s !== undefined}
      title="Keep the data in one system under a legal exception"
      confirm="Record the exception"
      onCancel={onCancel}
      onConfirm={() => onConfirm(chosenSystem, chosenCode)}
    >
      <p>
        The exception is recorded on the ledger for good, and the customer sees it in words. The step then counts as
        complete.
      </p>
      <div className="field">
        <label htmlFor={`${id}-system`}>System</label>
        <select id={`${id}-system`} value={chosenSystem} onChange={(e) => setSystem(e.target.value)}>
          {systems.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-code`}>Legal exception ({s?.jurisdiction})</label>
        <select id={`${id}-code`} value={chosenCode} onChange={(e) => setCode(e.target.value)}>
          {codes.map((c) => (
            <option key={c} value={c}>
              {erasureExceptionText(c)}
            </option>
          ))}
        </select>
      </div>
    </ConfirmDialog>
  );
}
