/**
 * A bound on the IAB library's integer ranges. A GPP range (`SectionIds` in the header, vendor and
 * publisher lists in TCF) is encoded as start and end, and the library's decoder expands each into
 * an array of every integer between: an 11-character string naming the range 1 to 10^7 takes
 * seconds, and 1 to 10^9 exhausts memory, on every peer that executes it. Ids in these lists are
 * 16-bit in the specification, so each range field may expand to at most `MAX_RANGE_IDS` integers:
 * before the library expands a range field, the guard sums the sizes of its ranges (reading the same
 * bits the library reads) and refuses a field over the bound with the library's own DecodingError.
 * All the range fields of one string share a budget too (`withRangeBudget`), since a string may
 * hold hundreds of them (TCF publisher restrictions are a list of ranges).
 */
import {
  DecodingError,
  FibonacciIntegerEncoder,
  FibonacciIntegerRangeEncoder,
  FixedIntegerEncoder,
  FixedIntegerRangeEncoder,
} from '@iabgpp/cmpapi';

/** The most integers one range field may hold: every 16-bit id once. */
export const MAX_RANGE_IDS = 65_536;
/** The most integers all the range fields of one string may hold together (four full lists). */
export const MAX_TOTAL_RANGE_IDS = 4 * MAX_RANGE_IDS;

/** Ids still allowed in the decode under way (`withRangeBudget`); unbounded outside one. */
let budget = Number.POSITIVE_INFINITY;

/** Runs `decode` with at most `total` ids across every range field it expands. */
export function withRangeBudget<T>(decode: () => T, total = MAX_TOTAL_RANGE_IDS): T {
  guardRanges();
  const outer = budget;
  budget = total;
  try {
    return decode();
  } finally {
    budget = outer;
  }
}

function spend(ids: number): void {
  budget -= ids;
  if (budget < 0) throw new DecodingError(`a GPP string whose range fields hold more than ${MAX_TOTAL_RANGE_IDS} ids`);
}

function tooMany(): never {
  throw new DecodingError(`a GPP range field holding more than ${MAX_RANGE_IDS} ids`);
}

/** How many integers a fixed-width range field (12-bit count, then 16-bit ids) expands to. */
function fixedSize(bits: string): number {
  const count = FixedIntegerEncoder.decode(bits.substring(0, 12));
  let at = 12;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const group = bits.charAt(at) === '1';
    at++;
    if (group) {
      const start = FixedIntegerEncoder.decode(bits.substring(at, at + 16));
      const end = FixedIntegerEncoder.decode(bits.substring(at + 16, at + 32));
      at += 32;
      total += Math.max(0, end - start + 1);
    } else {
      at += 16;
      total++;
    }
    if (total > MAX_RANGE_IDS) tooMany();
  }
  return total;
}

/** How many integers a Fibonacci range field (12-bit count, then Fibonacci-coded offsets) expands to. */
function fibonacciSize(bits: string): number {
  const count = FixedIntegerEncoder.decode(bits.substring(0, 12));
  let at = 12;
  let offset = 0;
  let total = 0;
  const next = (): number => {
    const end = bits.indexOf('11', at);
    if (end < 0) throw new DecodingError('a GPP Fibonacci integer without its terminator');
    const v = FibonacciIntegerEncoder.decode(bits.substring(at, end + 2)) + offset;
    at = end + 2;
    offset = v;
    return v;
  };
  for (let i = 0; i < count; i++) {
    const group = bits.charAt(at) === '1';
    at++;
    if (group) {
      const start = next();
      const end = next();
      total += Math.max(0, end - start + 1);
    } else {
      next();
      total++;
    }
    if (total > MAX_RANGE_IDS) tooMany();
  }
  return total;
}

let installed = false;

/** Installs the bound on the library's range decoders (once; every later decode goes through it). */
export function guardRanges(): void {
  if (installed) return;
  installed = true;
  const fixed = FixedIntegerRangeEncoder.decode.bind(FixedIntegerRangeEncoder);
  FixedIntegerRangeEncoder.decode = (bits: string): number[] => {
    if (/^[01]{12,}$/.test(bits)) spend(fixedSize(bits));
    return fixed(bits);
  };
  const fibonacci = FibonacciIntegerRangeEncoder.decode.bind(FibonacciIntegerRangeEncoder);
  FibonacciIntegerRangeEncoder.decode = (bits: string): number[] => {
    if (/^[01]{12,}$/.test(bits)) spend(fibonacciSize(bits));
    return fibonacci(bits);
  };
}
