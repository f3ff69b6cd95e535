/** Helpers for every package's tests; they import nothing from Custos (see `./node` for node fixtures). */
export {
  caught,
  codeChecker,
  expectCode,
  expectProblem,
  type FetchedAnswer,
  type InjectedAnswer,
  type ProblemBody,
} from './expect.js';
export { gate, testFileName } from './gate.js';
export { expectGolden, goldenJson, readGolden, updatingGoldens } from './golden.js';
export { sleep, waitFor, waitUntil } from './wait.js';
