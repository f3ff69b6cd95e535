/** @custos/protocol/data-export: the customer's data export, sealed to their wallet and checked against the ledger (ADR 0021). */
export * from './data-export.js';
export * from './data-export-check.js';
