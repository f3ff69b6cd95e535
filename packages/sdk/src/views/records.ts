/** How a record reads to its customer: what the company does with it, and how long it keeps it. */
import { labelOf } from '@custos/protocol/consent';
import type { RecordView } from './company.js';
import { basisText, ISO_FORMAT, list, lower, type ViewFormat } from './words.js';

/** "Bank uses your email address for marketing, because you agreed; and for ...". */
export function recordSentence(r: RecordView, orgName: string, format: ViewFormat = ISO_FORMAT): string {
  const what = lower(r.label);
  if (r.state === 'erased') return `${orgName} erased your ${what} for good on ${format.day(r.erasedAt!)}.`;
  const uses = Object.entries(r.purposes).map(([p, b]) => `${lower(labelOf(p))}, ${basisText(b)}`);
  return `${orgName} uses your ${what} for ${uses.join('; and for ')}.`;
}

/**
 * The purposes of a record decided by machine (GDPR Art. 22), in a sentence, or undefined: "Decisions
 * for credit checks are taken by machine: you can ask a person to review them."
 */
export function automatedText(r: Pick<RecordView, 'automated' | 'state'>): string | undefined {
  if (r.automated === undefined || r.automated.length === 0 || r.state === 'erased') return undefined;
  return `Decisions for ${list(r.automated.map((p) => lower(labelOf(p))))} are taken by machine: you can ask a person to review them.`;
}

/** "Since 3 March 2026 · kept until 3 March 2028", with what is wrong when something is. */
export function recordDates(r: RecordView, format: ViewFormat = ISO_FORMAT): { text: string; warning?: string } {
  const day = format.day;
  if (r.state === 'erased') return { text: `Held from ${day(r.registeredAt)} to ${day(r.erasedAt!)}` };
  const text = `Since ${day(r.registeredAt)} · kept until ${day(r.retentionUntil)}`;
  if (r.state === 'past-retention') return { text, warning: 'Kept past its end date: it should have been erased' };
  if (r.state === 'must-erase') {
    return {
      text,
      warning: `The company that shared it erased it on ${day(r.erasureRequestedAt!)}; this copy must go too`,
    };
  }
  if (r.restricted) return { text, warning: 'Use paused at your request' };
  return { text };
}
