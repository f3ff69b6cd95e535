/**
 * `custos org risk`: the org's privacy risk in money (GET /v1/orgs/:org/risk, docs/risk.md): the
 * figures on the terminal, `--json` for scripts, `--out report.html|report.pdf` for the board.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ASSUMPTION_IDS, type DEFAULT_ASSUMPTIONS } from '@custos/protocol/risk';
import type { RiskQuery } from '@custos/sdk';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { localOrg, type OrgFlags, orgClient, orgCommand } from './commands-org.js';
import { output, table } from './output.js';
import { riskHtml, riskPdf, summaryRows } from './risk-report.js';

const MAX_ASSUME = ASSUMPTION_IDS.length;

/** `--assume id=value` (repeatable) -> the query's overrides; the node checks the bounds. */
export function parseAssume(items: string[]): RiskQuery {
  if (items.length > MAX_ASSUME) throw new NodeError('BAD_REQUEST', `expected at most ${MAX_ASSUME} --assume`);
  const q: RiskQuery = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const id = item.slice(0, Math.max(eq, 0));
    const v = Number(item.slice(eq + 1));
    if (
      eq < 0 ||
      !(ASSUMPTION_IDS as string[]).includes(id) ||
      item.slice(eq + 1).trim() === '' ||
      !Number.isFinite(v)
    ) {
      throw new NodeError(
        'BAD_REQUEST',
        `expected --assume ID=NUMBER with ID one of ${ASSUMPTION_IDS.join(', ')}, got '${item.slice(0, 60)}'`,
      );
    }
    q[id as keyof typeof DEFAULT_ASSUMPTIONS] = v;
  }
  return q;
}

export function registerOrgRisk(org: Command): void {
  orgCommand(org, 'risk', 'privacy risk in money: expected loss, percentiles, causes, actions (docs/risk.md)')
    .option('--out <file>', 'write the board report to FILE (.html or .pdf)')
    .option('--assume <id=value>', 'override an assumption (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--seed <n>', 'seed of the simulation')
    .action(async (flags: OrgFlags & { out?: string; assume: string[]; seed?: string }) => {
      const out = output(flags.json === true);
      const kind = flags.out === undefined ? undefined : extname(flags.out).toLowerCase();
      if (kind !== undefined && kind !== '.html' && kind !== '.pdf') {
        throw new NodeError(
          'BAD_REQUEST',
          `expected --out as a file name ending in .html or .pdf, got '${flags.out!.slice(0, 80)}'`,
        );
      }
      const q = parseAssume(flags.assume);
      if (flags.seed !== undefined) {
        if (!/^[0-9]{1,10}$/.test(flags.seed))
          throw new NodeError('BAD_REQUEST', 'expected --seed from 0 to 4294967295');
        q.seed = Number(flags.seed);
      }
      const client = orgClient(flags);
      const id = await localOrg(client, flags.org);
      const report = await client.run((sdk) => sdk.orgRisk(id, q));
      const { inputs, result: r } = report;
      if (flags.out !== undefined) {
        writeFileSync(flags.out, kind === '.pdf' ? await riskPdf(report) : riskHtml(report));
        out.note(`Wrote ${flags.out}.`);
      }
      out.result(
        {
          org: r.org,
          height: r.height,
          checkpoint: r.checkpoint,
          currency: r.currency,
          trials: r.trials,
          seed: r.seed,
          expectedAnnualLoss: r.expectedAnnualLoss,
          percentiles: { p50: r.median, p90: r.p90, p99: r.p99 },
          worstCase: r.worstCase,
          baseline: r.baseline,
          causes: r.causes,
          whatIfs: r.whatIfs,
          trend: report.trend,
          inputs,
        },
        [
          `Privacy risk of ${r.org} at height ${r.height} (${r.trials.toLocaleString('en-US')} trials, seed ${r.seed}):`,
          ...table(summaryRows(r)),
          'By cause:',
          ...table(
            [...r.causes]
              .sort((a, b) => b.expectedAnnualLoss - a.expectedAnnualLoss)
              .map((c) => [c.label, `EUR ${Math.round(c.expectedAnnualLoss).toLocaleString('en-US')}`]),
          ),
          ...(r.whatIfs.length === 0
            ? []
            : [
                'Actions, by loss avoided per year:',
                ...table(r.whatIfs.map((w) => [w.label, `EUR ${(Math.round(-w.delta) + 0).toLocaleString('en-US')}`])),
              ]),
        ],
      );
    });
}
