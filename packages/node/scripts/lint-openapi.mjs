/**
 * `npm run lint:openapi`: writes the API's OpenAPI document (built by the compiled node, no server
 * listening) to a temp file and lints it with Redocly CLI against `redocly.yaml` at the repository
 * root. Any error or warning fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../dist/api/openapi-document.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'custos-openapi-'));
try {
  const file = join(dir, 'openapi.json');
  writeFileSync(file, await openApiDocument());
  const run = spawnSync(
    process.execPath,
    [cli, 'lint', '--config', join(root, 'redocly.yaml'), '--format', 'json', '--max-problems', '1000', file],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
  // Redocly fails only on errors; warnings fail this run too, so the report is read as JSON.
  const report = JSON.parse(run.stdout);
  for (const p of report.problems) {
    console.error(`${p.severity} ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? '#'})`);
  }
  const { errors, warnings } = report.totals;
  console.log(`OpenAPI document: ${errors} errors, ${warnings} warnings (Redocly ${report.version}, redocly.yaml)`);
  process.exitCode = run.status !== 0 || errors + warnings > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
