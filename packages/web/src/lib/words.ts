/**
 * Words only the company console and the explorer use: how a console names a request, and where a
 * cross-chain transaction stands. What a customer reads (results, events, bases, requests) is in
 * `@custos/sdk/views`, shared with the CLI.
 */
import type { RequestKind } from '@custos/sdk';
import type { Tone } from '@custos/sdk/views';

/** A request as the company's console names it. */
export const REQUEST_CONSOLE_TEXT: Record<RequestKind, string> = {
  access: 'Copy of their data',
  export: 'Their data in a portable file',
  rectify: 'Correction',
  erase: 'Erasure',
  restrict: 'Restriction of use',
  object: 'Objection to use',
  optout: 'Opt-out',
  review: 'Human review of an automated decision',
};

export function requestConsoleText(kind: string): string {
  return REQUEST_CONSOLE_TEXT[kind as RequestKind] ?? kind;
}

/** Where a cross-chain transaction stands on this chain, in words. */
export const XTX_STATUS: Record<string, { text: string; tone: Tone }> = {
  preparing: { text: 'Preparing: waiting for the decision', tone: 'warn' },
  prepared: { text: 'Prepared: waiting for the decision', tone: 'warn' },
  refused: { text: 'Refused here: this ledger voted no', tone: 'danger' },
  decided: { text: 'Decided: waiting to be applied here', tone: 'warn' },
  committed: { text: 'Committed: applied everywhere it was decided', tone: 'ok' },
  aborted: { text: 'Aborted: nothing changed', tone: 'neutral' },
};

/** The reason of a cross-chain decision: `all-yes`, `no:<chain>`, `timeout`. */
export function xtxReasonText(reason: string): string {
  if (reason === 'all-yes') return 'every ledger voted yes';
  if (reason.startsWith('no:')) return `ledger ${reason.slice(3)} voted no`;
  if (reason === 'timeout') return 'not every vote arrived before the deadline';
  return reason;
}
