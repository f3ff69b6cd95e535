/**
 * XML Schema 1.1 Part 2 `dateTimeStamp` (a `dateTime` with a time zone), the type Data Integrity
 * proofs (`created`, `expires`) and VC 2.0 (`validFrom`) use for times. Custos keeps times as
 * milliseconds since the epoch; this converts them both ways.
 */
import { ProtocolError } from '../errors.js';

/** Four-digit years (0000-9999) only: XML Schema allows more, no Custos time needs them. */
const DATE_TIME_STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;
/** 400 Gregorian years: 146097 days. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;
/** Longest text parsed; bounds the work done on attacker-controlled input. */
const MAX_LENGTH = 64;
/** 9999-12-31T23:59:59.999Z, the last instant `toXsdDateTime` writes with a four-digit year. */
export const MAX_XSD_TIME_MS = 253_402_300_799_999;

/**
 * True if `s` is an XML Schema `dateTimeStamp` with a four-digit year: a real calendar date, a time
 * (24:00:00 allowed), optional fractional seconds, and `Z` or an offset of at most 14:00.
 */
export function isXsdDateTimeStamp(s: unknown): s is string {
  return parseXsdDateTime(s) !== null;
}

/**
 * Milliseconds since the epoch of an XML Schema `dateTimeStamp`, or null if `s` is not one. Digits
 * beyond milliseconds are truncated.
 */
export function parseXsdDateTime(s: unknown): number | null {
  if (typeof s !== 'string' || s.length > MAX_LENGTH) return null;
  const m = DATE_TIME_STAMP.exec(s);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour === 24) {
    if (minute !== 0 || second !== 0 || /[1-9]/.test(fraction)) return null;
  } else if (hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (om > 59 || oh * 60 + om > 14 * 60) return null;
    offsetMinutes = (m[8]?.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = fraction === '' ? 0 : Number(`${fraction.slice(1, 4)}`.padEnd(3, '0'));
  // Date.UTC maps years 0-99 to 1900-1999. The Gregorian calendar repeats every 400 years, so
  // compute in the same year of 2000-2399 and shift by whole cycles (24:00 rolls over correctly).
  const sameYear = 2000 + (year % 400);
  const t = Date.UTC(sameYear, month - 1, day, hour, minute, second, ms);
  return t + ((year - sameYear) / 400) * GREGORIAN_CYCLE_MS - offsetMinutes * 60_000;
}

/**
 * The XML Schema `dateTimeStamp` of `ms` milliseconds since the epoch, in UTC with `Z`: seconds
 * precision when `ms` is a whole second, milliseconds otherwise. Throws `BAD_ENCODING` outside
 * 0..MAX_XSD_TIME_MS.
 *
 * @example
 * toXsdDateTime(1_767_225_600_000); // '2026-01-01T00:00:00Z'
 */
export function toXsdDateTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_XSD_TIME_MS) {
    throw new ProtocolError(
      'BAD_ENCODING',
      `expected milliseconds since the epoch in 0..${MAX_XSD_TIME_MS} (years 1970-9999), got ${ms}`,
    );
  }
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
