// The growth curve as an SVG chart: microseconds per transaction (left axis) and process RSS in MB
// (right axis) against state keys on a log axis, from the result of `npm run bench -- growth`.
// The cost plotted is the main thread's CPU time per transaction when every step reports it (what a
// machine shared with other work disturbs least), else the wall-clock µs per transaction.
// Hand-written SVG text, readable without colour (solid line and circles against dashed line and
// squares), with <title>, <desc> and axis labels for screen readers.
//
// Usage: node bench/_growth-chart.mjs [bench/results/growth.json] [docs/performance-growth.svg]
// (named with a leading underscore so that `npm run bench -- all` does not take it for a scenario).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const W = 720;
const H = 420;
const M = { left: 78, right: 82, top: 64, bottom: 70 };
const COST = '#1f5fbf';
const RSS = '#b4531a';
const GRID = '#d9d9d9';
const INK = '#222222';

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const fmt = (n) => Math.round(n).toLocaleString('en');
const px = (x) => Math.round(x * 10) / 10;

/** Keys as a short label: 10k, 300k, 1M, 10M. */
function short(n) {
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}k`;
  return String(n);
}

/** The smallest 1, 2 or 5 times a power of ten at or above `x`. */
function niceMax(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x);
}

/** The SVG text of the chart of a growth result (`run()` of bench/growth.mjs). */
export function growthChartSvg(result) {
  const steps = result.steps;
  if (!Array.isArray(steps) || steps.length === 0) throw new Error('expected a growth result with steps');
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const lo = Math.floor(Math.log10(Math.min(...steps.map((s) => s.keys))));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...steps.map((s) => s.keys)))));
  const x = (keys) => M.left + ((Math.log10(keys) - lo) / (hi - lo)) * plotW;
  const cpu = steps.every((s) => typeof s.main_thread_us_per_tx === 'number');
  const cost = (s) => (cpu ? s.main_thread_us_per_tx : s.us_per_tx);
  const costName = cpu ? 'main-thread CPU µs per transaction' : 'µs per transaction';
  const ratio = cpu ? result.main_thread_cost_ratio : result.cost_ratio;
  const target = result.target?.cost_ratio_max;
  const targetUs = target === undefined ? undefined : cost(steps[0]) * target;
  const costMax = niceMax(Math.max(...steps.map(cost), targetUs ?? 0));
  const rssMax = niceMax(Math.max(...steps.map((s) => s.rss_mb)));
  const yCost = (v) => M.top + plotH - (v / costMax) * plotH;
  const yRss = (v) => M.top + plotH - (v / rssMax) * plotH;

  const title = 'Cost per transaction and memory as the state grows';
  const machine = result.machine ? `${result.machine.cpus} cores, Node ${result.machine.node}` : 'unknown machine';
  const desc =
    `Line chart of the growth benchmark (${machine}): ${cpu ? "the node's main-thread CPU microseconds" : 'microseconds'} per signed kv.put transaction ` +
    `(left axis) and the node process's resident memory in MB (right axis) against the number of ` +
    `state keys, on a logarithmic axis. ` +
    steps.map((s) => `${fmt(s.keys)} keys: ${fmt(cost(s))} ${costName}, ${fmt(s.rss_mb)} MB`).join('; ') +
    `. Cost ratio, largest step to first: ${ratio}` +
    (target === undefined ? '.' : ` (target at most ${target}: ${ratio <= target ? 'met' : 'not met'}).`);

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="title desc" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" fill="${INK}">`,
    `<title id="title">${esc(title)}</title>`,
    `<desc id="desc">${esc(desc)}</desc>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="600">${esc(title)}</text>`,
  );

  // Grid and axes: powers of ten on x, five divisions on y.
  out.push('<g aria-hidden="true">');
  for (let e = lo; e <= hi; e++) {
    const gx = px(x(10 ** e));
    out.push(`<line x1="${gx}" y1="${M.top}" x2="${gx}" y2="${M.top + plotH}" stroke="${GRID}"/>`);
    out.push(`<text x="${gx}" y="${M.top + plotH + 18}" text-anchor="middle">${short(10 ** e)}</text>`);
    if (e < hi) {
      const mx = px(x(3 * 10 ** e));
      out.push(`<line x1="${mx}" y1="${M.top + plotH}" x2="${mx}" y2="${M.top + plotH + 5}" stroke="${INK}"/>`);
    }
  }
  for (let i = 0; i <= 5; i++) {
    const gy = px(M.top + plotH - (i / 5) * plotH);
    out.push(`<line x1="${M.left}" y1="${gy}" x2="${M.left + plotW}" y2="${gy}" stroke="${GRID}"/>`);
    out.push(`<text x="${M.left - 8}" y="${gy + 4}" text-anchor="end" fill="${COST}">${fmt((costMax * i) / 5)}</text>`);
    out.push(`<text x="${M.left + plotW + 8}" y="${gy + 4}" fill="${RSS}">${fmt((rssMax * i) / 5)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="${INK}"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 22}" text-anchor="middle">state keys (log scale)</text>`,
    `<text transform="translate(22 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${COST}">${cpu ? 'main-thread CPU µs per tx' : 'µs per transaction'} (kv.put, closed loop)</text>`,
    `<text transform="translate(${W - 18} ${M.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="${RSS}">process RSS (MB)</text>`,
  );
  if (targetUs !== undefined) {
    const ty = px(yCost(targetUs));
    out.push(
      `<line x1="${M.left}" y1="${ty}" x2="${M.left + plotW}" y2="${ty}" stroke="${COST}" stroke-dasharray="2 3"/>`,
      `<text x="${M.left + 6}" y="${ty - 5}" fill="${COST}">target: ${target} × the cost at ${short(steps[0].keys)} keys</text>`,
    );
  }
  out.push('</g>');

  // The two series, each point with its figures as a tooltip.
  const series = (name, color, y, value, unit, dash, marker) => {
    const pts = steps.map((s) => [px(x(s.keys)), px(y(value(s)))]);
    out.push(`<g aria-label="${esc(name)}">`);
    out.push(
      `<polyline points="${pts.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    steps.forEach((s, i) => {
      const [cx, cy] = pts[i];
      const label = `<title>${esc(`${fmt(s.keys)} keys: ${fmt(value(s))} ${unit}`)}</title>`;
      out.push(
        marker === 'circle'
          ? `<circle cx="${cx}" cy="${cy}" r="4.5" fill="${color}">${label}</circle>`
          : `<rect x="${px(cx - 4)}" y="${px(cy - 4)}" width="8" height="8" fill="${color}">${label}</rect>`,
      );
    });
    out.push('</g>');
  };
  series(costName, COST, yCost, cost, costName, null, 'circle');
  series('process RSS', RSS, yRss, (s) => s.rss_mb, 'MB RSS', '7 4', 'square');

  // Legend, above the plot.
  const ly = 46;
  const lx = M.left;
  out.push(
    '<g aria-hidden="true">',
    `<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${COST}" stroke-width="2.5"/>`,
    `<circle cx="${lx + 14}" cy="${ly}" r="4.5" fill="${COST}"/>`,
    `<text x="${lx + 36}" y="${ly + 4}">${cpu ? 'main-thread CPU µs per tx' : 'µs per transaction'} (left)</text>`,
    `<line x1="${lx + 250}" y1="${ly}" x2="${lx + 278}" y2="${ly}" stroke="${RSS}" stroke-width="2.5" stroke-dasharray="7 4"/>`,
    `<rect x="${lx + 260}" y="${ly - 4}" width="8" height="8" fill="${RSS}"/>`,
    `<text x="${lx + 286}" y="${ly + 4}">process RSS, MB (right)</text>`,
    `<text x="${W - 8}" y="${H - 8}" text-anchor="end" font-size="11">${esc(machine)}</text>`,
    '</g>',
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const from = process.argv[2] ?? join(root, 'bench', 'results', 'growth.json');
  const to = process.argv[3] ?? join(root, 'docs', 'performance-growth.svg');
  writeFileSync(to, growthChartSvg(JSON.parse(readFileSync(from, 'utf8'))));
  console.error(`wrote ${to}`);
}
