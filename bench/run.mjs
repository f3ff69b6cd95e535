#!/usr/bin/env node
// Runs one benchmark scenario (`npm run bench -- <scenario>`) or all of them (`all`). Each scenario
// is bench/<scenario>.mjs exporting `run(options)`; its result is printed as one JSON object on the
// last line of output and saved under bench/results/.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const scenarios = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .map((f) => f.slice(0, -4))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name === 'all' || scenarios.includes(name))) {
  console.error(`usage: npm run bench -- <scenario|all> [--quick]\nscenarios: ${scenarios.join(', ')}`);
  process.exit(64);
}
const options = { quick: rest.includes('--quick') };
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
