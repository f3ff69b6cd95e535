/**
 * A contract's risk reports (docs/contracts.md, "Risk check"), the code in force and the proposed
 * code side by side: findings by rule with the expected loss, and the gas of each declared test call
 * in the dry run.
 */
import type { ContractCodeView, ContractRiskReport } from '@custos/sdk';
import { count, money } from '../lib/format.js';
import { Badge } from '../ui/ui.js';

const LEVEL_TONE: Record<string, 'ok' | 'warn' | 'danger'> = { low: 'ok', medium: 'warn', high: 'danger' };

export function RiskVerdict({ passed, level }: { passed: boolean; level: string }) {
  return (
    <>
      <Badge tone={passed ? 'ok' : 'danger'}>{passed ? 'Risk check passed' : 'Risk check not passed'}</Badge>{' '}
      <Badge tone={LEVEL_TONE[level] ?? 'neutral'}>Risk {level}</Badge>
    </>
  );
}

function Report({ title, code }: { title: string; code: ContractCodeView }) {
  const r: ContractRiskReport = code.risk;
  const id = `risk-${code.digest.slice(0, 12)}`;
  return (
    <section className="risk-report" aria-labelledby={id}>
      <h4 id={id} className="m-0">
        {title}: version {String(code.manifest.version ?? '?')}
      </h4>
      <p className="fact-line small">
        <RiskVerdict passed={r.passed} level={r.score.level} /> Expected loss{' '}
        <strong>{money(r.score.expectedLossEur, 'EUR')}</strong>, {count(r.findings.length)}{' '}
        {r.findings.length === 1 ? 'finding' : 'findings'}.
      </p>
      <div className="table-wrap">
        <table className="responsive">
          <caption className="small muted">Findings by rule</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Findings</th>
              <th scope="col">Likelihood</th>
              <th scope="col">Impact</th>
              <th scope="col">Expected loss</th>
            </tr>
          </thead>
          <tbody>
            {r.score.basis.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No rule found anything.
                </td>
              </tr>
            ) : (
              r.score.basis.map((b) => (
                <tr key={b.rule}>
                  <th scope="row" data-label="Rule">
                    <code>{b.rule}</code>
                  </th>
                  <td data-label="Findings">{count(b.findings)}</td>
                  <td data-label="Likelihood">{b.likelihoodPct}%</td>
                  <td data-label="Impact">{money(b.impactEur, 'EUR')}</td>
                  <td data-label="Expected loss">{money(b.expectedLossEur, 'EUR')}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {r.findings.length > 0 && (
        <ul className="plain-list small">
          {r.findings.slice(0, 20).map((f) => (
            <li key={`${f.line}:${f.column}:${f.rule}`}>
              Line {f.line}: <code>{f.rule}</code> ({f.severity}) {f.message}
            </li>
          ))}
        </ul>
      )}
      <div className="table-wrap">
        <table className="responsive">
          <caption className="small muted">Dry run of the declared test calls</caption>
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Result</th>
              <th scope="col">Gas used</th>
              <th scope="col">Writes</th>
              <th scope="col">Events</th>
            </tr>
          </thead>
          <tbody>
            {r.dryRun.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No test call was declared.
                </td>
              </tr>
            ) : (
              r.dryRun.map((d, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: test calls are listed in the declared order
                <tr key={i}>
                  <th scope="row" data-label="Method">
                    <code>{d.method}</code>
                  </th>
                  <td data-label="Result">
                    <Badge tone={d.code === 'OK' ? 'ok' : 'danger'}>{d.code}</Badge>
                  </td>
                  <td data-label="Gas used">{count(d.gasUsed)}</td>
                  <td data-label="Writes">{count(d.writes)}</td>
                  <td data-label="Events">{count(d.events)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The reports of the code in force and of the proposed code, side by side when both exist. */
export function RiskReports({
  inForce,
  proposed,
}: {
  inForce: ContractCodeView | null;
  proposed: ContractCodeView | null;
}) {
  if (inForce === null && proposed === null) return null;
  return (
    <div className="risk-compare">
      {inForce !== null && <Report title="In force" code={inForce} />}
      {proposed !== null && <Report title="Proposed" code={proposed} />}
    </div>
  );
}
