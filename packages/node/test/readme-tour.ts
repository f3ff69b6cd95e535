/**
 * README tour blocks that a test runs as written: the shell block after the marker
 * `<test file> runs these commands`, and the prelude that makes `npm run custos --` the built CLI.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The README's shell block that the marker before it says `testFile` runs. */
export function readmeBlock(testFile: string): string {
  const text = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const at = text.indexOf(`${testFile} runs these commands`);
  const start = text.indexOf('```sh\n', at);
  if (at < 0 || start < 0) throw new Error(`README: no block marked for ${testFile}`);
  return text.slice(start + 6, text.indexOf('```', start + 6));
}

/** `npm run custos --` as the built CLI (`$TOUR_CLI`), as the docs test runs README blocks. */
export const TOUR_PRELUDE = `set -eo pipefail
npm() {
  if [ "$1" = run ] && [ "$2" = custos ] && [ "$3" = -- ]; then shift 3; node "$TOUR_CLI" "$@";
  elif [ "$1" = run ] && [ "$2" = -s ] && [ "$3" = custos ] && [ "$4" = -- ]; then shift 4; node "$TOUR_CLI" "$@";
  else echo "tour test: npm $1 is not run" >&2; return 1; fi
}
`;
