/**
 * @custos/protocol: everything a Custos peer and a browser agree on. Named exports only; each
 * subpath (`@custos/protocol/ledger`, `/merkle`, `/state`, `/consent`, `/http`, `/wallet`,
 * `/crypto`, `/interop`, `/jcs`, `/encoding`, `/errors`) is the smaller import to prefer.
 */
export * from './consent/index.js';
export * from './crypto/index.js';
export * from './encoding.js';
export * from './errors.js';
export * from './http/index.js';
export * from './interop/index.js';
export * from './jcs.js';
export * from './ledger/index.js';
export * from './merkle/index.js';
export * from './state/index.js';
export * from './wallet/index.js';
