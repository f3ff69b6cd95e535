/**
 * The console's privacy risk in money (docs/risk.md): the inputs come from the node
 * (GET /v1/orgs/:org/risk, read from the ledger), the figures from the same model the node and
 * the CLI run (@custos/protocol/risk), re-run here when an assumption changes.
 */
import {
  ASSUMPTION_IDS,
  type AssumptionId,
  type AssumptionOverrides,
  CHART_BOX,
  causeBars,
  DEFAULT_ASSUMPTIONS,
  exceedanceGeometry,
  type RiskInputs,
  type RiskResult,
  simulate,
  type TrendPoint,
  withOverrides,
} from '@custos/protocol/risk';
import { useEffect, useId, useState } from 'react';
import { money } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { Badge } from '../ui/ui.js';
import type { OrgData } from './data.js';

function storedOverrides(org: string): AssumptionOverrides {
  try {
    const raw = localStorage.getItem(`custos.risk2.${org}`);
    const parsed = raw === null ? {} : (JSON.parse(raw) as AssumptionOverrides);
    withOverrides(DEFAULT_ASSUMPTIONS, parsed); // throws on a stale or tampered entry
    return parsed;
  } catch {
    return {};
  }
}

const eur = (x: number) => money(x, 'EUR');
const chance = (p: number) =>
  new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 }).format(p);

export function RiskSection({ d }: { d: OrgData }) {
  const inputs = useAsync((signal) => d.api.orgRisk(d.org, {}, { signal }), [d]);
  const [overrides, setOverrides] = useState<AssumptionOverrides>(() => storedOverrides(d.org));
  const [result, setResult] = useState<RiskResult | null>(null);
  const [busy, setBusy] = useState(false);
  const x = inputs.data?.inputs;
  useEffect(() => {
    if (x === undefined) return;
    setBusy(true);
    // Let the page paint "Computing" before the 10^5 trials take the thread.
    const t = setTimeout(() => {
      setResult(simulate(x, withOverrides(DEFAULT_ASSUMPTIONS, overrides)));
      setBusy(false);
    }, 30);
    return () => clearTimeout(t);
  }, [x, overrides]);
  const set = (next: AssumptionOverrides) => {
    setOverrides(next);
    localStorage.setItem(`custos.risk2.${d.org}`, JSON.stringify(next));
  };

  return (
    <section className="card" aria-labelledby="risk-title" aria-busy={busy || result === null}>
      <div className="section-title">
        <h2 id="risk-title">Privacy risk in money</h2>
        {busy && <Badge>Computing</Badge>}
      </div>
      {inputs.error !== undefined && <p role="alert">Could not read the risk inputs: {String(inputs.error)}</p>}
      {result === null || x === undefined ? (
        <p className="muted">Reading the ledger and running 100,000 simulated years…</p>
      ) : (
        <RiskBody x={x} r={result} trend={inputs.data?.trend ?? []} overrides={overrides} set={set} />
      )}
    </section>
  );
}

function RiskBody({
  x,
  r,
  trend,
  overrides,
  set,
}: {
  x: RiskInputs;
  r: RiskResult;
  trend: TrendPoint[];
  overrides: AssumptionOverrides;
  set: (o: AssumptionOverrides) => void;
}) {
  const figures: [string, number][] = [
    ['Median year', r.median],
    ['1 year in 10 worse than', r.p90],
    ['1 year in 100 worse than', r.p99],
    ['Worst case (every cap reached)', r.worstCase],
  ];
  return (
    <>
      <p className="stat-value money" data-testid="expected-loss">
        {eur(r.expectedAnnualLoss)}
      </p>
      <p className="muted">
        Expected loss per year from your ledger data at height {x.height}, over {r.trials.toLocaleString('en-US')}{' '}
        simulated years (seed {r.seed}). Without Custos (no enforced consent, no crypto-shredding):{' '}
        <strong>{eur(r.baseline.expectedAnnualLoss)}</strong>, so Custos avoids{' '}
        <strong>{eur(r.baseline.expectedAnnualLoss - r.expectedAnnualLoss)}</strong> a year.
      </p>
      <div className="table-wrap">
        <table className="responsive" aria-label="Loss figures">
          <tbody>
            {figures.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td className="num money">{eur(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Loss exceedance curve</h3>
      <Curve r={r} />
      <h3>By cause</h3>
      <Causes r={r} />
      <h3>Trend</h3>
      <Trend trend={trend} />
      <h3>What you can do</h3>
      {r.whatIfs.length === 0 ? (
        <p className="muted">Nothing past retention, nothing overdue, no contract in force.</p>
      ) : (
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col" className="num">
                  Change in expected loss
                </th>
                <th scope="col" className="num">
                  Expected loss after
                </th>
              </tr>
            </thead>
            <tbody>
              {r.whatIfs.map((w) => (
                <tr key={w.id}>
                  <td data-label="Action">{w.label}</td>
                  <td data-label="Change" className="num money">
                    {w.delta < 0 ? '−' : '+'}
                    {eur(Math.abs(w.delta))}
                  </td>
                  <td data-label="After" className="num money">
                    {eur(w.expectedAnnualLoss)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AssumptionsForm r={r} overrides={overrides} set={set} />
    </>
  );
}

function Curve({ r }: { r: RiskResult }) {
  const id = useId();
  const g = exceedanceGeometry(r);
  const b = CHART_BOX;
  return (
    <>
      <svg
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        viewBox={`0 0 ${b.width} ${b.height}`}
        className="chart"
        style={{ width: '100%', maxWidth: b.width, height: 'auto' }}
      >
        <title id={`${id}-t`}>Loss exceedance curve</title>
        <desc id={`${id}-d`}>
          Probability that a year's loss exceeds each amount, on a log scale of amounts. 1 year in 10 is worse than{' '}
          {eur(r.p90)}, 1 in 100 worse than {eur(r.p99)}. The table below gives the points.
        </desc>
        {g.yTicks.map((t) => (
          <g key={t.label}>
            <line x1={b.left} x2={b.width - b.margin} y1={t.y} y2={t.y} stroke="currentColor" strokeOpacity={0.15} />
            <text x={b.left - 6} y={t.y + 4} textAnchor="end" fontSize={11} fill="currentColor">
              {t.label}
            </text>
          </g>
        ))}
        {g.xTicks.map((t, i) => (
          <text
            key={t.label}
            x={t.x}
            y={b.height - b.bottom + 16}
            textAnchor={i === 0 ? 'start' : i === g.xTicks.length - 1 ? 'end' : 'middle'}
            fontSize={11}
            fill="currentColor"
          >
            {t.label}
          </text>
        ))}
        <path d={g.path} fill="none" stroke="#1d4ed8" strokeWidth={2.5} data-testid="lec-path" />
      </svg>
      <details className="disclosure">
        <summary>The curve as a table</summary>
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">A year's loss above</th>
                <th scope="col" className="num">
                  Probability
                </th>
              </tr>
            </thead>
            <tbody>
              {r.exceedance
                .filter((_, i) => i % 4 === 0)
                .map((p) => (
                  <tr key={p.loss}>
                    <td>{eur(p.loss)}</td>
                    <td className="num">{chance(p.probability)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}

function Causes({ r }: { r: RiskResult }) {
  const id = useId();
  const bars = causeBars(r.causes, 300, 24);
  return (
    <>
      <svg
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        viewBox={`0 0 560 ${bars.length * 24 + 4}`}
        style={{ width: '100%', maxWidth: 560, height: 'auto' }}
      >
        <title id={`${id}-t`}>Expected annual loss by cause</title>
        <desc id={`${id}-d`}>One bar per cause, largest first; the table below gives the amounts and formulas.</desc>
        {bars.map((bar) => (
          <g key={bar.id}>
            <text x={0} y={bar.y + 16} fontSize={12} fill="currentColor">
              {bar.label}
            </text>
            <rect x={200} y={bar.y + 5} width={Math.max(bar.width, 0.5)} height={14} fill="#b91c1c" />
            <text x={206 + bar.width} y={bar.y + 16} fontSize={11} fill="currentColor">
              {eur(bar.value)}
            </text>
          </g>
        ))}
      </svg>
      <div className="table-wrap">
        <table className="responsive">
          <thead>
            <tr>
              <th scope="col">Cause</th>
              <th scope="col" className="num">
                Expected per year
              </th>
              <th scope="col">How it is worked out</th>
            </tr>
          </thead>
          <tbody>
            {r.causes.map((c) => (
              <tr key={c.id}>
                <td data-label="Cause">{c.label}</td>
                <td data-label="Expected" className="num money">
                  {eur(c.expectedAnnualLoss)}
                </td>
                <td data-label="Formula" className="formula">
                  {c.formula}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function AssumptionsForm({
  r,
  overrides,
  set,
}: {
  r: RiskResult;
  overrides: AssumptionOverrides;
  set: (o: AssumptionOverrides) => void;
}) {
  const id = useId();
  const [errors, setErrors] = useState<Partial<Record<AssumptionId, string>>>({});
  return (
    <details className="disclosure mt-4">
      <summary>Assumptions (edit them)</summary>
      <div className="grid mt-4">
        {ASSUMPTION_IDS.map((k) => {
          const a = r.assumptions[k];
          return (
            <div className="field" key={k}>
              <label htmlFor={`${id}-${k}`}>
                {a.label} ({a.unit})
              </label>
              <input
                id={`${id}-${k}`}
                type="number"
                min={a.min}
                max={a.max}
                step="any"
                defaultValue={a.value}
                aria-invalid={errors[k] !== undefined}
                aria-describedby={`${id}-${k}-h`}
                onChange={(e) => {
                  const v = Number(e.target.value);
                  try {
                    withOverrides(DEFAULT_ASSUMPTIONS, { [k]: v });
                    setErrors({ ...errors, [k]: undefined });
                    set({ ...overrides, [k]: v });
                  } catch (err) {
                    setErrors({ ...errors, [k]: (err as Error).message });
                  }
                }}
              />
              <span id={`${id}-${k}-h`} className="hint">
                {errors[k] ?? `${a.source}. Range ${a.low} to ${a.high}.`}
              </span>
            </div>
          );
        })}
      </div>
      <button type="button" className="btn btn-small" onClick={() => set({})}>
        Back to the defaults
      </button>
    </details>
  );
}

/** The expected annual loss at earlier heights (from the node, with the default assumptions). */
function Trend({ trend }: { trend: TrendPoint[] }) {
  const id = useId();
  if (trend.length === 0) return <p className="muted">No history yet.</p>;
  const w = 560;
  const h = 140;
  const max = Math.max(1, ...trend.map((p) => p.expectedAnnualLoss));
  const xOf = (i: number) => 60 + (trend.length === 1 ? 0 : (i / (trend.length - 1)) * (w - 80));
  const yOf = (v: number) => 10 + (1 - v / max) * (h - 40);
  const path = trend
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${xOf(i).toFixed(1)} ${yOf(p.expectedAnnualLoss).toFixed(1)}`)
    .join(' ');
  return (
    <>
      <svg
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        viewBox={`0 0 ${w} ${h}`}
        style={{ width: '100%', maxWidth: w, height: 'auto' }}
      >
        <title id={`${id}-t`}>Expected annual loss over the ledger's history</title>
        <desc id={`${id}-d`}>
          From {eur(trend[0]!.expectedAnnualLoss)} at height {trend[0]!.height} to{' '}
          {eur(trend[trend.length - 1]!.expectedAnnualLoss)} at height {trend[trend.length - 1]!.height}, with the
          default assumptions; the table below gives each point.
        </desc>
        <text x={54} y={14} textAnchor="end" fontSize={11} fill="currentColor">
          {eur(max)}
        </text>
        <text x={54} y={h - 26} textAnchor="end" fontSize={11} fill="currentColor">
          {eur(0)}
        </text>
        <line x1={60} x2={w - 20} y1={h - 30} y2={h - 30} stroke="currentColor" strokeOpacity={0.3} />
        <path d={path} fill="none" stroke="#1d4ed8" strokeWidth={2} />
        {trend.map((p, i) => (
          <circle key={p.height} cx={xOf(i)} cy={yOf(p.expectedAnnualLoss)} r={3} fill="#1d4ed8" />
        ))}
        <text x={60} y={h - 10} fontSize={11} fill="currentColor">
          height {trend[0]!.height}
        </text>
        <text x={w - 20} y={h - 10} textAnchor="end" fontSize={11} fill="currentColor">
          height {trend[trend.length - 1]!.height}
        </text>
      </svg>
      <details className="disclosure">
        <summary>The trend as a table</summary>
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Height</th>
                <th scope="col">Block time</th>
                <th scope="col" className="num">
                  Expected annual loss
                </th>
              </tr>
            </thead>
            <tbody>
              {trend.map((p) => (
                <tr key={p.height}>
                  <td>{p.height}</td>
                  <td>{new Date(p.time).toLocaleString()}</td>
                  <td className="num">{eur(p.expectedAnnualLoss)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}
