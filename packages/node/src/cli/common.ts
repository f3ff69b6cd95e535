/**
 * What several command files share, so that no command file imports another: the `--node` option,
 * the exit status of a refused transaction, record ids, and how dates and request deadlines print.
 */
import { Option } from 'commander';
import { NodeError } from '../errors.js';
import type { DataRequest } from '../modules/request.js';
import { DEFAULT_NODE_URL } from './client.js';

/** Exit status of a committed transaction whose result code is not OK (as `custos tx`). */
export const TX_FAILED_EXIT = 1;
const RECORD_ID = /^[0-9a-f]{64}$/;
const DAY = 86_400_000;

export function nodeOption(): Option {
  return new Option('--node <url>', 'node URL').env('CUSTOS_NODE').default(DEFAULT_NODE_URL);
}

export function parseRecordId(value: string): string {
  if (!RECORD_ID.test(value)) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected a record id of 64 lower-case hex characters, got '${value.slice(0, 80)}'`,
    );
  }
  return value;
}

/** `2026-03-03` (UTC). */
export function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** `in 12 days` / `OVERDUE by 3 days` for an open request; its closing otherwise. */
export function deadlineText(r: Pick<DataRequest, 'status' | 'deadline' | 'closedAt'>, now: number): string {
  if (r.status !== 'open') return `${r.status} ${r.closedAt === null ? '' : day(r.closedAt)}`.trim();
  const days = Math.ceil(Math.abs(r.deadline - now) / DAY);
  return now > r.deadline
    ? `OVERDUE by ${days} day${days === 1 ? '' : 's'}`
    : `open, ${days} day${days === 1 ? '' : 's'} left`;
}
