/**
 * Renders docs/errors.md from the one error registry (`errors.ts`): every code with its HTTP
 * status, CLI exit code, title and meaning. `npm run docs:errors` writes it; a test fails when the
 * file and the registry disagree.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { RESULT_CODES } from '@custos/protocol/ledger';
import { ERROR_REGISTRY, isProtocolCode } from '../errors.js';
import { RESULT_CODE_MEANING } from '../result-codes.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The whole of docs/errors.md. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_REGISTRY).map(
    ([code, e]) =>
      `| \`${code}\` | ${e.status} | ${e.exitCode} | ${isProtocolCode(code) ? 'protocol' : 'node'} | ${cell(e.title)} | ${cell(e.meaning)} |`,
  );
  return [
    '# Error codes',
    '',
    '<!-- Generated from ERROR_REGISTRY in packages/node/src/errors.ts by `npm run docs:errors`; do not edit. -->',
    '',
    'Every error of the node, the CLI and the HTTP API has one stable code. The API answers it as an',
    'RFC 9457 problem (`application/problem+json`) with the HTTP status below, `type` `/errors/{code}`,',
    'the `title` below and a `detail` that says what was expected and what came; the `custos` CLI exits',
    'with the exit code below (`sysexits.h` where one fits). Codes are never renamed or reused.',
    '',
    '| code | HTTP | exit | layer | title | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Transaction result codes',
    '',
    'A transaction that reaches a block is committed with one of these codes, whatever happens: only',
    '`OK` changes the state. The API answers it as `code` (`POST /v1/txs?wait=true`,',
    '`GET /v1/txs/{txId}`), with a `detail` in words when the node that ran it knows more (the',
    'argument at fault and what was expected); `custos tx` prints it and exits 1 unless it is `OK`.',
    '',
    '| code | meaning |',
    '| --- | --- |',
    ...RESULT_CODES.map((c) => `| \`${c}\` | ${cell(RESULT_CODE_MEANING[c])} |`),
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? 'docs/errors.md';
  writeFileSync(out, renderErrorsDoc());
  console.error(`wrote ${out} (${Object.keys(ERROR_REGISTRY).length} codes)`);
}
