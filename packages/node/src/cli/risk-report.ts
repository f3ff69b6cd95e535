/**
 * The board's privacy-risk report (`custos org risk --out report.html|report.pdf`): summary, loss
 * exceedance curve, loss by cause, actions ranked by loss avoided, the assumptions with their
 * sources, the inputs with the ledger query each came from, and the height, checkpoint, seed and
 * trials an auditor needs to recompute every figure (docs/risk.md). The pictures use the geometry
 * of @custos/protocol/risk, as the console does; the PDF is drawn with pdfkit (ADR 0017).
 */
import {
  ASSUMPTION_IDS,
  CHART_BOX,
  causeBars,
  exceedanceGeometry,
  type RiskInputs,
  type RiskResult,
  type TrendPoint,
} from '@custos/protocol/risk';

export interface RiskReport {
  inputs: RiskInputs;
  result: RiskResult;
  /** The expected annual loss at earlier heights, oldest first. */
  trend: TrendPoint[];
}

function trendRows(trend: TrendPoint[]): string[][] {
  return trend.map((p) => [
    String(p.height),
    new Date(p.time).toISOString().slice(0, 16).replace('T', ' '),
    eur(p.expectedAnnualLoss),
  ]);
}

const eur = (x: number) => `EUR ${(Math.round(x) + 0).toLocaleString('en-US')}`;

/** The figures of the summary, as label and value, in the order the report shows them. */
export function summaryRows(r: RiskResult): [string, string][] {
  return [
    ['Expected annual loss', eur(r.expectedAnnualLoss)],
    ['Median year', eur(r.median)],
    ['1 year in 10 worse than', eur(r.p90)],
    ['1 year in 100 worse than', eur(r.p99)],
    ['Worst case (every cap reached)', eur(r.worstCase)],
    ['Without Custos (expected)', eur(r.baseline.expectedAnnualLoss)],
    ['Loss avoided by Custos (expected)', eur(r.baseline.expectedAnnualLoss - r.expectedAnnualLoss)],
  ];
}

function provenance(x: RiskInputs, r: RiskResult): string {
  const cp =
    x.checkpoint === null
      ? 'no checkpoint'
      : `header hash ${x.checkpoint.hash} (${x.checkpoint.final ? 'final' : 'not yet final'})`;
  return `Computed at ledger height ${x.height}, ${cp}, block time ${new Date(x.time).toISOString()}; ${r.trials.toLocaleString('en-US')} trials, seed ${r.seed}.`;
}

export const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The report as one self-contained HTML page (inline SVG, no script, no external resource). */
export function riskHtml({ inputs: x, result: r, trend }: RiskReport): string {
  const g = exceedanceGeometry(r);
  const b = CHART_BOX;
  const bars = causeBars(r.causes);
  const rows = (cells: string[][]) =>
    cells.map((c) => `<tr>${c.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`).join('\n');
  const curve = `<svg role="img" aria-labelledby="lec-t lec-d" viewBox="0 0 ${b.width} ${b.height}" width="${b.width}" height="${b.height}">
<title id="lec-t">Loss exceedance curve</title><desc id="lec-d">Probability that the annual loss exceeds each amount; the table below gives the points.</desc>
${g.yTicks.map((t) => `<line x1="${b.left}" x2="${b.width - b.margin}" y1="${t.y}" y2="${t.y}" stroke="#ddd"/><text x="${b.left - 6}" y="${t.y + 4}" text-anchor="end" font-size="11">${t.label}</text>`).join('\n')}
${g.xTicks.map((t, i) => `<text x="${t.x}" y="${b.height - b.bottom + 16}" text-anchor="${i === 0 ? 'start' : i === g.xTicks.length - 1 ? 'end' : 'middle'}" font-size="11">${esc(t.label)}</text>`).join('\n')}
<path d="${g.path}" fill="none" stroke="#1d4ed8" stroke-width="2.5"/></svg>`;
  const causes = `<svg role="img" aria-labelledby="c-t c-d" viewBox="0 0 560 ${bars.length * 22 + 8}" width="560" height="${bars.length * 22 + 8}">
<title id="c-t">Expected annual loss by cause</title><desc id="c-d">One bar per cause, longest first; the table gives the amounts.</desc>
${bars.map((bar) => `<text x="0" y="${bar.y + 15}" font-size="12">${esc(bar.label)}</text><rect x="200" y="${bar.y + 4}" width="${Math.max(bar.width, 0.5).toFixed(1)}" height="14" fill="#b91c1c"/><text x="${(206 + bar.width).toFixed(1)}" y="${bar.y + 15}" font-size="11">${esc(eur(bar.value))}</text>`).join('\n')}</svg>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Privacy risk of ${esc(x.org)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}td:nth-child(2){font-variant-numeric:tabular-nums}.muted{color:#555}</style></head>
<body>
<h1>Privacy risk of ${esc(x.org)}, in money</h1>
<p class="muted">${esc(provenance(x, r))}</p>
<h2>Summary</h2>
<table><tbody>${rows(summaryRows(r))}</tbody></table>
<h2>Loss exceedance curve</h2>
${curve}
<table><thead><tr><th>Annual loss above</th><th>Probability</th></tr></thead><tbody>${rows(r.exceedance.filter((_, i) => i % 5 === 0).map((p) => [eur(p.loss), `${(p.probability * 100).toFixed(2)}%`]))}</tbody></table>
<h2>Loss by cause</h2>
${causes}
<table><thead><tr><th>Cause</th><th>Expected annual loss</th><th>Events per year</th><th>Loss per event</th><th>Formula</th></tr></thead><tbody>${rows(r.causes.map((c) => [c.label, eur(c.expectedAnnualLoss), c.frequency.toPrecision(3), eur(c.magnitudeEur), c.formula]))}</tbody></table>
<h2>Trend over the ledger's history</h2>
<table><thead><tr><th>Height</th><th>Block time (UTC)</th><th>Expected annual loss</th></tr></thead><tbody>${rows(trendRows(trend))}</tbody></table>
<h2>Actions, ranked by loss avoided</h2>
${r.whatIfs.length === 0 ? '<p>No action to take: nothing past retention, nothing overdue, no contract in force.</p>' : `<table><thead><tr><th>Action</th><th>Loss avoided per year</th><th>Expected annual loss after</th></tr></thead><tbody>${rows(r.whatIfs.map((w) => [w.label, eur(-w.delta), eur(w.expectedAnnualLoss)]))}</tbody></table>`}
<h2>Assumptions</h2>
<table><thead><tr><th>Assumption</th><th>Value</th><th>Range</th><th>Source</th></tr></thead><tbody>${rows(
    ASSUMPTION_IDS.map((id) => {
      const a = r.assumptions[id];
      return [`${a.label} (${id})`, `${a.value} ${a.unit}`, `${a.low} to ${a.high}`, a.source];
    }),
  )}</tbody></table>
<h2>Inputs from the ledger</h2>
<table><thead><tr><th>Input</th><th>Value</th><th>Source</th></tr></thead><tbody>${rows(inputRows(x))}</tbody></table>
<p class="muted">Model, formulas, sources and limits: docs/risk.md in the Custos repository. Recompute: GET /v1/orgs/${esc(x.org)}/risk?seed=${r.seed}&amp;trials=${r.trials} at height ${x.height}.</p>
</body></html>
`;
}

/** Each input with its value and the ledger query it came from. */
export function inputRows(x: RiskInputs): string[][] {
  const value = (k: string): string => {
    if (k === 'categories')
      return (
        x.categories
          .map((c) => `${c.category}: ${c.records} (${c.pastRetention} past retention${c.sensitive ? ', Art. 9' : ''})`)
          .join('; ') || 'none'
      );
    if (k === 'contracts') return x.contracts.map((c) => c.id).join(', ') || 'none';
    if (k === 'ccpaShare') return `${(x.ccpaShare * 100).toFixed(1)}%`;
    return String((x as unknown as Record<string, unknown>)[k]);
  };
  return x.sources.map((s) => [s.input, value(s.input), s.query]);
}

/** Latin-1 only: the PDF's standard fonts have no glyph for the rest. */
const latin = (s: string) =>
  s
    .replace(/[’‘]/g, "'")
    .replace(/×/g, 'x')
    .replace(/Σ/g, 'sum of')
    .replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

/** The report as a PDF (A4): the same sections as the HTML, the pictures drawn as vectors. */
export async function riskPdf({ inputs: x, result: r, trend }: RiskReport): Promise<Buffer> {
  // pdfkit (fonts, compression) loads only when a PDF is asked for, not with every `custos org` command.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Privacy risk of ${x.org}` } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const h2 = (t: string) =>
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(14).text(latin(t)).font('Helvetica').fontSize(10);
  const table = (cells: string[][], widths: number[]) => {
    for (const row of cells) {
      const y = doc.y;
      if (y > 760) doc.addPage();
      const top = doc.y;
      let bottom = top;
      let left = 50;
      row.forEach((cell, i) => {
        doc.text(latin(cell), left, top, { width: widths[i]! - 6 });
        bottom = Math.max(bottom, doc.y);
        left += widths[i]!;
      });
      doc.x = 50;
      doc.y = bottom + 3;
    }
  };
  doc
    .font('Helvetica-Bold')
    .fontSize(20)
    .text(latin(`Privacy risk of ${x.org}, in money`));
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor('#444')
    .text(latin(provenance(x, r)))
    .fillColor('#000')
    .fontSize(10);
  h2('Summary');
  table(summaryRows(r), [250, 245]);

  h2('Loss exceedance curve');
  doc.fontSize(9).text('Probability that the annual loss exceeds each amount.').fontSize(10);
  const g = exceedanceGeometry(r);
  const b = CHART_BOX;
  const scale = 495 / b.width;
  const ox = 50;
  const oy = doc.y + 6;
  doc.save().translate(ox, oy).scale(scale);
  for (const t of g.yTicks) {
    doc
      .moveTo(b.left, t.y)
      .lineTo(b.width - b.margin, t.y)
      .lineWidth(0.5)
      .strokeColor('#cccccc')
      .stroke();
    doc
      .fillColor('#000')
      .fontSize(11)
      .text(t.label, 0, t.y - 5, { width: b.left - 6, align: 'right', lineBreak: false });
  }
  g.xTicks.forEach((t, i) => {
    const last = i === g.xTicks.length - 1;
    const align = i === 0 ? 'left' : last ? 'right' : 'center';
    const x = i === 0 ? t.x : last ? t.x - 60 : t.x - 30;
    doc.fontSize(10).text(latin(t.label), x, b.height - b.bottom + 8, { width: 60, align, lineBreak: false });
  });
  if (g.path !== '') doc.path(g.path).lineWidth(2.5).strokeColor('#1d4ed8').stroke();
  doc.restore();
  doc.x = 50;
  doc.y = oy + b.height * scale + 10;

  h2('Loss by cause');
  const bars = causeBars(r.causes, 200, 18);
  const by = doc.y + 4;
  for (const bar of bars) {
    doc
      .fillColor('#000')
      .fontSize(10)
      .text(latin(bar.label), 50, by + bar.y + 2, { width: 190, lineBreak: false });
    doc.rect(245, by + bar.y + 2, Math.max(bar.width, 0.5), 12).fill('#b91c1c');
    doc.fillColor('#000').text(eur(bar.value), 252 + bar.width, by + bar.y + 2, { lineBreak: false });
  }
  doc.x = 50;
  doc.y = by + bars.length * 18 + 8;
  doc.fontSize(9);
  table(
    r.causes.map((c) => [c.label, eur(c.expectedAnnualLoss), c.formula]),
    [130, 95, 270],
  );

  doc.addPage();
  doc.fontSize(10);
  h2("Trend over the ledger's history");
  table([['Height', 'Block time (UTC)', 'Expected annual loss'], ...trendRows(trend)], [100, 195, 200]);
  h2('Actions, ranked by loss avoided');
  if (r.whatIfs.length === 0)
    doc.text('No action to take: nothing past retention, nothing overdue, no contract in force.');
  else
    table(
      [
        ['Action', 'Avoided per year', 'Expected after'],
        ...r.whatIfs.map((w) => [w.label, eur(-w.delta), eur(w.expectedAnnualLoss)]),
      ],
      [245, 125, 125],
    );
  h2('Assumptions');
  doc.fontSize(8);
  table(
    ASSUMPTION_IDS.map((id) => {
      const a = r.assumptions[id];
      return [`${a.label} (${id})`, `${a.value} (${a.low}-${a.high}) ${a.unit}`, a.source];
    }),
    [150, 110, 235],
  );
  h2('Inputs from the ledger');
  doc.fontSize(8);
  table(inputRows(x), [90, 150, 255]);
  doc
    .moveDown()
    .fontSize(9)
    .text(
      latin(
        `Recompute: GET /v1/orgs/${x.org}/risk?seed=${r.seed}&trials=${r.trials} at height ${x.height}. Model, formulas, sources and limits: docs/risk.md.`,
      ),
    );
  doc.end();
  return done;
}
