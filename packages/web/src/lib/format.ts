/** Dates, durations and amounts in the reader's locale (the browser's), never a fixed format. */
import type { ViewFormat } from '@custos/sdk/views';

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const numFmt = new Intl.NumberFormat();
const DAY = 86_400_000;

/** `3 March 2026` (in the reader's language and order). */
export function day(t: number): string {
  return dateFmt.format(new Date(t));
}

/** The shared sentences (`@custos/sdk/views`) with this browser's dates. */
export const BROWSER_FORMAT: ViewFormat = { day };

/** `3 Mar 2026, 14:05`. */
export function dateTime(t: number): string {
  return dateTimeFmt.format(new Date(t));
}

/** `in 5 days`, `yesterday`, `in 2 months`, relative to `now`. */
export function relative(t: number, now = Date.now()): string {
  const diff = t - now;
  const days = Math.round(diff / DAY);
  if (Math.abs(days) < 1) {
    const hours = Math.round(diff / 3_600_000);
    return Math.abs(hours) < 1 ? relFmt.format(Math.round(diff / 60_000), 'minute') : relFmt.format(hours, 'hour');
  }
  if (Math.abs(days) < 45) return relFmt.format(days, 'day');
  if (Math.abs(days) < 540) return relFmt.format(Math.round(days / 30.44), 'month');
  return relFmt.format(Math.round(days / 365.25), 'year');
}

/** Whole days from `now` to `t` (negative once past). */
export function daysUntil(t: number, now = Date.now()): number {
  return Math.ceil((t - now) / DAY);
}

export function count(n: number): string {
  return numFmt.format(n);
}

/** `EUR 20,000,000` in the reader's format. */
export function money(amount: number, currency: 'EUR' | 'USD'): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 }).format(
    Math.round(amount),
  );
}

/** `12%`. */
export function percent(fraction: number): string {
  return new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 }).format(fraction);
}

/** `one`, `two`, ... for small counts in sentences, digits beyond. */
export function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** `A, B and C`, in the reader's language. */
export function list(items: readonly string[]): string {
  return new Intl.ListFormat(undefined, { style: 'long', type: 'conjunction' }).format(items);
}

/** The first characters of an identifier, enough to tell two apart: `z6MkhaXg…`. */
export function short(id: string, n = 10): string {
  const body = id.startsWith('did:key:') ? id.slice(8) : id;
  return body.length <= n ? body : `${body.slice(0, n)}…`;
}

/** Starts a download of `data` as a pretty-printed JSON file. */
export function downloadJson(filename: string, data: unknown): void {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
