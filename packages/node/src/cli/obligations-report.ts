/**
 * The records of processing (GDPR Art. 30) as CSV and text lines, and the DPIA draft (Art. 35) as
 * one self-contained HTML page (no script, no external resource) for `custos org ropa` and
 * `custos org dpia --out dpia.html`. Everything comes from the node's answer: ledger facts at a height.
 */
import type { Dpia, Ropa, RopaActivity } from '@custos/protocol/ledger';
import { esc } from './risk-report.js';

export const ROPA_COLUMNS = [
  'purpose',
  'categories',
  'special categories',
  'subjects',
  'lawful bases',
  'recipients',
  'transfers outside the EEA',
  'retention (days)',
  'records',
  'customers',
  'past retention',
  'automated decisions',
] as const;

/** One activity as the cells of ROPA_COLUMNS. */
export function ropaCells(a: RopaActivity): string[] {
  return [
    a.purpose,
    a.categories.join('; '),
    a.specialCategories.join('; '),
    a.subjectCategories.join('; '),
    a.lawfulBases.join('; '),
    a.recipients.map((r) => `${r.org} (${r.shares} share(s)${r.sales > 0 ? `, ${r.sales} sale(s)` : ''})`).join('; '),
    a.transfers.map((t) => `${t.countries.join('/')} via ${t.via}`).join('; '),
    a.retentionDays.min === a.retentionDays.max
      ? String(a.retentionDays.min)
      : `${a.retentionDays.min}-${a.retentionDays.max}`,
    String(a.records),
    String(a.subjects),
    String(a.pastRetention),
    String(a.automated),
  ];
}

const csvCell = (s: string) => (/[",\n]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** RFC 4180 CSV: a header row, then one row per activity. */
export function ropaCsv(r: Ropa): string {
  return `${[[...ROPA_COLUMNS], ...r.activities.map(ropaCells)].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** The controller and where the figures come from, as text lines. */
export function ropaHead(r: Ropa): string[] {
  const c = r.controller;
  return [
    `Records of processing of ${r.org} (GDPR Art. 30) at height ${r.height}, ${new Date(r.time).toISOString()}.`,
    c === null
      ? 'Controller: no member profile yet (the org records no customer data before it sets one).'
      : `Controller: ${c.legalName} (${c.registration}); DPO ${c.dpo ?? '-'}; EU representative ${c.euRepresentative ?? '-'}; regions ${c.regions.join(', ')}; Art. 26 arrangement sha256 ${c.arrangementDigest} (profile v${c.version}).`,
    r.dataMap === null
      ? 'Data map: none published.'
      : `Data map in force: version ${r.dataMap.version}, sha256 ${r.dataMap.digest}, systems ${r.dataMap.systems.join(', ')}.`,
  ];
}

const table = (head: readonly string[], rows: string[][]) =>
  `<table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

/** The DPIA draft as one HTML page. */
export function dpiaHtml(d: Dpia): string {
  const r = d.description;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DPIA draft: ${esc(d.org)} at height ${d.height}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #bbb;padding:.3rem .45rem;text-align:left;vertical-align:top}
.draft{border:2px solid #a15c00;background:#fff4e0;padding:.6rem .8rem}</style></head><body>
<h1>Data protection impact assessment: ${esc(d.org)}</h1>
<p class="draft"><strong>DRAFT for the DPO to complete</strong> (GDPR Art. 35). Filled from ledger facts at height ${d.height} (${esc(new Date(d.time).toISOString())}); the DPO completes: ${esc(d.forTheDpo.join('; '))}.</p>
<h2>1. Systematic description of the processing (Art. 35(7)(a))</h2>
${ropaHead(r)
  .map((l) => `<p>${esc(l)}</p>`)
  .join('\n')}
${table(ROPA_COLUMNS, r.activities.map(ropaCells))}
<h2>2. Necessity and proportionality (Art. 35(7)(b))</h2>
${table(
  ['purpose', 'lawful bases', 'retention (days)', 'records'],
  d.necessity.map((n) => [
    n.purpose,
    n.lawfulBases.join('; '),
    `${n.retentionDays.min}-${n.retentionDays.max}`,
    String(n.records),
  ]),
)}
<h2>3. Risks to the rights and freedoms of the people concerned (Art. 35(7)(c))</h2>
${table(
  ['risk', 'what the ledger shows', 'count', 'source'],
  d.risks.map((x) => [x.id, x.text, String(x.count), x.source]),
)}
<h2>4. Measures envisaged (Art. 35(7)(d))</h2>
<ul>${d.measures.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>
<p>Recompute: GET /v1/orgs/${esc(d.org)}/dpia at height ${d.height}.</p>
</body></html>
`;
}
