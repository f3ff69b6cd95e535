/**
 * A customer's correction carried into the org's own systems (GDPR Art. 16), as the corrections
 * queue shows it: "Corrected in N of M systems", each system's step (done with its rows, failed with
 * the error code and the node's message, or pending), and a button to run the steps not yet done
 * again (the value comes from the vault; a done system is not touched again).
 */
import type { CorrectionSteps } from '@custos/sdk';
import { errorText } from '../lib/api.js';
import { useAsync } from '../lib/use-async.js';
import { Badge } from '../ui/ui.js';
import type { OrgData } from './data.js';
import { stepBadge } from './request-steps.js';

const systems = (n: number) => `${n} ${n === 1 ? 'system' : 'systems'}`;

/** The headline of a correction's steps: "Corrected in 2 of 3 systems", with a pause or a missed deadline. */
export function correctionStepsText(s: CorrectionSteps): string {
  const head = `Corrected in ${s.complete} of ${systems(s.systems)}`;
  if (s.complete === s.systems) return head;
  if (s.late) return `${head}: past the legal deadline`;
  return s.paused ? `${head}: paused on a failed step` : `${head} so far`;
}

export function CorrectionStepsCell({
  d,
  item,
  busy,
  version,
  onRun,
}: {
  d: OrgData;
  item: string;
  busy: boolean;
  /** Changes after each action of the page: the steps are read again. */
  version: number;
  onRun: (item: string) => void;
}) {
  const state = useAsync((signal) => d.api.correctionSteps(d.org, item, { signal }), [d, item, version]);
  if (state.error !== undefined)
    return <p className="muted small">The steps could not be read: {errorText(state.error)}</p>;
  const s = state.data;
  if (s === undefined || s.systems === 0) return null;
  return (
    <div className="stack" data-testid="correction-steps">
      <p className="fact-line row">
        <strong>{correctionStepsText(s)}</strong>
        {s.complete === s.systems && <Badge tone="ok">Proven on the ledger</Badge>}
      </p>
      <ul className="plain-list" aria-label="Steps in the org's systems">
        {s.steps.map((x) => (
          <li key={x.system}>
            <code>{x.system}</code> {stepBadge(x)}
            {x.message !== undefined && <div className="muted small">{x.message}</div>}
          </li>
        ))}
      </ul>
      {s.complete < s.systems && (
        <div className="row">
          <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={() => onRun(item)}>
            Run the remaining {systems(s.systems - s.complete)} again
          </button>
        </div>
      )}
    </div>
  );
}
