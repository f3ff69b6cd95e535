/**
 * `custos xtx new --evm-leg`: an EVM participant's token leg in a cross-chain plan
 * (docs/interop.md#an-evm-leg-in-a-cross-chain-transaction), parsed from untrusted JSON with an
 * error that says what was expected. The ledger checks the leg again when the plan is prepared.
 */
import type { EvmLeg } from '@custos/protocol/interop';
import { NodeError } from '../errors.js';
import { parseArgsObject } from './args.js';

/** At most this many legs in one plan (one per EVM participant; a plan has at most 8 participants). */
export const MAX_EVM_LEGS = 8;
const MAX_LEG_CHARS = 1024;
const PARTICIPANT = /^evm:[1-9][0-9]{0,15}:0x[0-9a-f]{40}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** A uint256 in decimal, above zero. */
const AMOUNT = /^[1-9][0-9]{0,77}$/;

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

/** The legs by participant; `BAD_REQUEST` naming the `--evm-leg` and the field that is wrong. */
export function parseEvmLegs(texts: string[]): { [participant: string]: EvmLeg } {
  if (texts.length > MAX_EVM_LEGS) throw bad(`expected at most ${MAX_EVM_LEGS} --evm-leg, got ${texts.length}`);
  const legs: { [participant: string]: EvmLeg } = {};
  texts.forEach((text, i) => {
    const flag = `--evm-leg ${i + 1}`;
    if (text.length > MAX_LEG_CHARS) throw bad(`${flag}: expected at most ${MAX_LEG_CHARS} characters`);
    const o = parseArgsObject(text, flag);
    const extra = Object.keys(o).find((k) => !['participant', 'token', 'from', 'to', 'amount'].includes(k));
    if (extra !== undefined) throw bad(`${flag}: unexpected field '${extra.slice(0, 40)}'`);
    const { participant, token, from, to, amount } = o;
    if (typeof participant !== 'string' || !PARTICIPANT.test(participant)) {
      throw bad(
        `${flag}: expected "participant" as evm:<chainId>:<0x contract, lower case> (custos evm deploy prints it)`,
      );
    }
    if (Object.hasOwn(legs, participant)) throw bad(`${flag}: a second leg for ${participant}; expected one each`);
    for (const [name, v] of [
      ['token', token],
      ['from', from],
      ['to', to],
    ] as const) {
      if (typeof v !== 'string' || !ADDRESS.test(v))
        throw bad(`${flag}: expected "${name}" as a 0x address of 40 hex digits`);
    }
    const amountText = typeof amount === 'number' && Number.isSafeInteger(amount) ? String(amount) : amount;
    if (typeof amountText !== 'string' || !AMOUNT.test(amountText) || BigInt(amountText) >= 2n ** 256n) {
      throw bad(`${flag}: expected "amount" as a positive whole number of token units (a uint256)`);
    }
    legs[participant] = {
      token: (token as string).toLowerCase(),
      from: (from as string).toLowerCase(),
      to: (to as string).toLowerCase(),
      amount: amountText,
    };
  });
  return legs;
}
