/**
 * The published limits and gas schedule of the contract runtime (docs/contracts.md renders them).
 * Every figure is part of consensus: changing one changes which calls succeed and how much gas they
 * use, so it changes only with a new runtime version, never silently.
 */

/** Bounds every call is held to; a call that exceeds one fails with the code named in docs/contracts.md. */
export const CONTRACT_LIMITS = {
  /** UTF-8 bytes of a contract's source. */
  codeBytes: 64 * 1024,
  /** Brackets (`(`, `[`, `{`, `${`) open at once in the source: bounds the parser's recursion. */
  codeNesting: 64,
  /** Canonical JSON bytes of the call's arguments. */
  argsBytes: 16 * 1024,
  /** Nesting of arrays and objects in any JSON value crossing the boundary (args, state, events, results). */
  jsonDepth: 32,
  /** Canonical JSON bytes of the return value. */
  returnBytes: 16 * 1024,
  /** Events one call may emit, and canonical JSON bytes of each. */
  events: 64,
  eventBytes: 4 * 1024,
  /** Characters of a state key, as the contract names it (`<namespace>/<rest>`). */
  keyChars: 200,
  /** Canonical JSON bytes of one state value. */
  valueBytes: 16 * 1024,
  /** Distinct keys one call may write or delete. */
  writes: 256,
  /** Entries one `host.range` call may return. */
  rangeEntries: 100,
  /** Highest gas limit a call may have, whatever its manifest says. */
  maxGasPerCall: 20_000_000,
  /** QuickJS runtime limits: allocation limit, and the interpreter's stack. */
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 32 * 1024,
  /** Characters of an error message in a result (longer ones are cut). */
  errorChars: 300,
  /** Nesting of arrays and objects that JSON.parse, JSON.stringify and Array.prototype.flat accept inside the sandbox. */
  sandboxJsonDepth: 64,
} as const;

/**
 * Gas schedule. A call pays `call` + `codeByte` per byte of source + `argsByte` per byte of
 * arguments up front, then as it runs: `tick` per interpreter tick (QuickJS calls the interrupt
 * handler once every 10,000 poll points: function calls, backward jumps, constructor calls,
 * for-in steps, prototype-chain walks, and once per 10,000 regular-expression backtracking steps),
 * `memoryPage` per 64 KiB the runtime's memory grew by the end of the call, `hostCall` per host API
 * call, and per byte read, written or emitted.
 */
export const GAS = {
  call: 10_000,
  codeByte: 2,
  argsByte: 5,
  tick: 10_000,
  memoryPage: 20_000,
  hostCall: 1_000,
  systemCall: 10_000,
  readByte: 10,
  writeByte: 100,
  eventByte: 50,
  rangeEntry: 200,
  returnByte: 10,
} as const;

/** Bytes per memory page charged by `GAS.memoryPage`. */
export const MEMORY_PAGE_BYTES = 64 * 1024;
