// The invocation hint moved to the base layer (src/invocation.ts) so lower layers can use it.
export { cliCommand } from '../invocation.js';
