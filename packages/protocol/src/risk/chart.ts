/**
 * The geometry of the risk pictures, shared by the console (SVG), the HTML report (SVG) and the
 * PDF report (drawn with the same coordinates): the loss exceedance curve on a log scale of loss
 * against a linear scale of probability, and the bars of the loss by cause.
 */
import type { CauseResult, RiskResult } from './model.js';

export interface Box {
  width: number;
  height: number;
  /** Room for the axis labels: left, bottom; and a margin on the top and the right. */
  left: number;
  bottom: number;
  margin: number;
}

export const CHART_BOX: Box = { width: 560, height: 260, left: 56, bottom: 36, margin: 12 };

/** EUR 1.2M, EUR 350k, EUR 900: short enough for an axis. */
export function compactEur(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `EUR ${(x / 1e9).toFixed(a >= 1e10 ? 0 : 1)}bn`;
  if (a >= 1e6) return `EUR ${(x / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `EUR ${(x / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return `EUR ${Math.round(x)}`;
}

export interface CurveGeometry {
  /** The curve's points in the box's coordinates (y grows downwards). */
  points: { x: number; y: number; loss: number; probability: number }[];
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  /** The SVG path of the curve (`M x y L x y ...`), as a step function. */
  path: string;
}

/** The loss exceedance curve laid out in `box`. */
export function exceedanceGeometry(r: Pick<RiskResult, 'exceedance'>, box: Box = CHART_BOX): CurveGeometry {
  const pts = r.exceedance.filter((p) => p.loss > 0);
  const plotW = box.width - box.left - box.margin;
  const plotH = box.height - box.bottom - box.margin;
  const lo = pts.length === 0 ? 1 : Math.max(1, pts[0]!.loss);
  const hi = pts.length === 0 ? 10 : Math.max(lo * 10, pts[pts.length - 1]!.loss);
  const lmin = Math.floor(Math.log10(lo));
  const lmax = Math.ceil(Math.log10(hi));
  const span = Math.max(1, lmax - lmin);
  const xOf = (loss: number) => box.left + ((Math.log10(Math.max(loss, 10 ** lmin)) - lmin) / span) * plotW;
  const yOf = (p: number) => box.margin + (1 - p) * plotH;
  const points = pts.map((p) => ({ x: xOf(p.loss), y: yOf(p.probability), loss: p.loss, probability: p.probability }));
  const xTicks = Array.from({ length: span + 1 }, (_, i) => ({
    x: xOf(10 ** (lmin + i)),
    label: compactEur(10 ** (lmin + i)),
  }));
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((p) => ({ y: yOf(p), label: `${Math.round(p * 100)}%` }));
  let path = '';
  points.forEach((p, i) => {
    path += i === 0 ? `M${p.x.toFixed(1)} ${p.y.toFixed(1)}` : ` H${p.x.toFixed(1)} V${p.y.toFixed(1)}`;
  });
  return { points, xTicks, yTicks, path };
}

export interface Bar {
  id: string;
  label: string;
  value: number;
  /** Bar length in the box's plot width (0 for no loss). */
  width: number;
  y: number;
}

/** Horizontal bars of the expected loss by cause, largest first, rows of `row` height. */
export function causeBars(causes: readonly CauseResult[], plotWidth = 300, row = 22): Bar[] {
  const sorted = [...causes].sort((a, b) => b.expectedAnnualLoss - a.expectedAnnualLoss);
  const max = Math.max(1, ...sorted.map((c) => c.expectedAnnualLoss));
  return sorted.map((c, i) => ({
    id: c.id,
    label: c.label,
    value: c.expectedAnnualLoss,
    width: (c.expectedAnnualLoss / max) * plotWidth,
    y: i * row,
  }));
}
