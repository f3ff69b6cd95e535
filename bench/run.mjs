#!/usr/bin/env node
// Runs one benchmark scenario (`npm run bench -- <scenario>`) or all of them (`all`). Each scenario
// is bench/<scenario>.mjs exporting `run(options)`; its result is printed as one JSON object on the
// last line of output and saved under bench/results/. Options: `--quick` (a shorter run),
// `--max N` (the largest size, for the scenarios that grow something: growth), `--fill bulk|txs`
// (how growth fills its state) and `--evm-block-ms <ms>` (cross-platform: the EVM chain's block
// period of its second mode; 0 for automine only).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const scenarios = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .map((f) => f.slice(0, -4))
  .sort();

const [name, ...rest] = process.argv.slice(2);
const usage = () => {
  console.error(
    `usage: npm run bench -- <scenario|all> [--quick] [--max N] [--fill bulk|txs] [--evm-block-ms MS]\nscenarios: ${scenarios.join(', ')}`,
  );
  process.exit(64);
};
if (!name || !(name === 'all' || scenarios.includes(name))) usage();
const options = { quick: rest.includes('--quick') };
// `--max N` (or `--max=N`, N as 1000000 or 1e6): the largest size a scenario grows to (growth).
const maxAt = rest.findIndex((a) => a === '--max' || a.startsWith('--max='));
if (maxAt >= 0) {
  const text = rest[maxAt] === '--max' ? rest[maxAt + 1] : rest[maxAt].slice('--max='.length);
  const max = Number(text);
  if (!Number.isSafeInteger(max) || max <= 0) usage();
  options.max = max;
}
const fillAt = rest.indexOf('--fill');
if (fillAt >= 0) {
  if (!['bulk', 'txs'].includes(rest[fillAt + 1])) usage();
  options.fill = rest[fillAt + 1];
}
const blockAt = rest.indexOf('--evm-block-ms');
if (blockAt >= 0) {
  const ms = Number(rest[blockAt + 1]);
  if (!/^[0-9]{1,5}$/.test(rest[blockAt + 1] ?? '') || ms > 60_000) usage();
  options.evmBlockMs = ms;
}
const results = [];
for (const s of name === 'all' ? scenarios : [name]) {
  console.error(`# ${s}`);
  const mod = await import(pathToFileURL(join(here, `${s}.mjs`)).href);
  const result = await mod.run(options);
  results.push(result);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `${s}.json`), `${JSON.stringify(result, null, 2)}\n`);
}
console.log(JSON.stringify(name === 'all' ? { scenario: 'all', results } : results[0]));
