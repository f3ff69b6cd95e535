/**
 * The relayer's `xtx.evmDone {outcomes}` lists (relay-evm.ts): at most `MAX_OUTCOMES_PER_TX`
 * outcomes, well under a transaction body's 32 KiB. Outcomes proven by the same receipt (the legs
 * of one `decideMany`) go next to one another, and only the first of them in a list carries the
 * receipt proof: D proves that receipt once for the list (modules/xtx-evm.ts), and the proof, which
 * grows with the receipt's events, is not repeated.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { MAX_OUTCOMES_PER_TX } from '../../modules/xtx-evm.js';

/** One leg's outcome for `xtx.evmDone`: the planned leg's receipt at `index` of EVM block `number`. */
export interface Outcome {
  [k: string]: JsonValue;
  xtxId: string;
  participant: string;
  number: number;
  index: number;
  proof: string[];
}

/** Bytes of outcome proofs in one list (a transaction body holds at most 32 KiB with its envelope). */
const OUTCOME_LIST_BYTES = 24 * 1024;

/**
 * The lists to submit (`send`, proofs shared within a list) and the same outcomes each with its
 * proof (`full`), to send one by one when D refuses a list whole.
 */
export function outcomeLists(outcomes: Outcome[]): { send: { [k: string]: JsonValue }[]; full: Outcome[] }[] {
  const byReceipt = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const at = `${o.participant}/${o.number}/${o.index}`;
    const group = byReceipt.get(at) ?? [];
    group.push(o);
    byReceipt.set(at, group);
  }
  const lists: { send: { [k: string]: JsonValue }[]; full: Outcome[] }[] = [];
  let list: { send: { [k: string]: JsonValue }[]; full: Outcome[] } = { send: [], full: [] };
  let bytes = 0;
  for (const group of byReceipt.values()) {
    let proven = false;
    for (const o of group) {
      const { proof: _, ...bare } = o;
      let size = JSON.stringify(proven ? bare : o).length;
      if (list.full.length > 0 && (list.full.length >= MAX_OUTCOMES_PER_TX || bytes + size > OUTCOME_LIST_BYTES)) {
        lists.push(list);
        list = { send: [], full: [] };
        bytes = 0;
        proven = false;
        size = JSON.stringify(o).length;
      }
      list.send.push(proven ? bare : o);
      list.full.push(o);
      bytes += size;
      proven = true;
    }
  }
  if (list.full.length > 0) lists.push(list);
  return lists;
}
