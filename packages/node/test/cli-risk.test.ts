/**
 * `custos org risk` on the demo chain, end to end: the figures of `--json`, of GET
 * /v1/orgs/:org/risk and of the protocol's model called here on the same inputs are the same; the
 * PDF report renders (pdftoppm, poppler-utils) to pages with the curve (blue) and the cause bars
 * (red) present; the HTML report holds the same figures with accessible SVG. `custos org dpia`
 * lists the risks from the same inputs, each with its source.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ASSUMPTIONS, type RiskInputs, simulate, withOverrides } from '@custos/protocol/risk';
import { gate } from '@custos/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CliHarness } from './fixtures/cli.js';

const hasPdftoppm = (() => {
  try {
    execFileSync('pdftoppm', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let cli: CliHarness;
let demo: ChildProcess | undefined;
let url = '';
let token = '';

beforeAll(async () => {
  cli = new CliHarness('custos-risk-');
  demo = spawn(process.execPath, [CLI, 'demo', '--no-evm', '--port', '0'], {
    env: { ...cli.env, CUSTOS_HOME: cli.home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`custos demo did not start: ${text}`)), 90_000);
    demo!.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('Stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    demo!.on('exit', (code) => reject(new Error(`custos demo exited with ${code}: ${text}`)));
  });
  url = /listening on (http:\/\/[^\s]+)/.exec(out)![1]!;
  token = /retailer\s+\S+#token=(\S+)/.exec(out)![1]!;
  cli.env.CUSTOS_NODE = url;
}, 120_000);

afterAll(async () => {
  demo?.kill('SIGTERM');
  await cli?.cleanup();
});

/** Pixels of a binary PPM (P6) from pdftoppm: width, height and RGB bytes. */
function ppm(file: string) {
  const buf = readFileSync(file);
  const header = buf.subarray(0, 50).toString('latin1');
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(header)!;
  return { w: Number(m[1]), h: Number(m[2]), px: buf.subarray(m[0].length) };
}

describe('custos org risk', () => {
  it('prints the same figures as the API and as the model run on the same inputs', async () => {
    const r = await cli.run([
      'org',
      'risk',
      '--org',
      'retailer',
      '--json',
      '--assume',
      'breachRate=0.2',
      '--seed',
      '7',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      inputs: RiskInputs;
      expectedAnnualLoss: number;
      percentiles: Record<string, number>;
      worstCase: number;
      whatIfs: unknown[];
      trend: { height: number }[];
      height: number;
    };
    expect(doc.height).toBe(doc.inputs.height);
    expect(doc.trend.at(-1)?.height).toBe(doc.height);
    const res = await fetch(`${url}/v1/orgs/retailer/risk?breachRate=0.2&seed=7`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const api = (await res.json()) as { inputs: RiskInputs; result: { expectedAnnualLoss: number; p99: number } };
    expect(api.inputs).toEqual(doc.inputs);
    expect(api.result.expectedAnnualLoss).toBe(doc.expectedAnnualLoss);
    expect(api.result.p99).toBe(doc.percentiles.p99);
    const direct = simulate(doc.inputs, withOverrides(DEFAULT_ASSUMPTIONS, { breachRate: 0.2 }), { seed: 7 });
    expect(direct.expectedAnnualLoss).toBe(doc.expectedAnnualLoss);
    expect(direct.worstCase).toBe(doc.worstCase);
    // The demo retailer's refused share (opted out) and refused use are issues: the GDPR cap is in the worst case.
    expect(doc.inputs.optOutsRefused + doc.inputs.refusedAccesses).toBeGreaterThanOrEqual(2);
    expect(doc.worstCase).toBeGreaterThan(20_000_000);
  });

  it('refuses a bad assumption and a bad --out with what was expected', async () => {
    const a = await cli.run(['org', 'risk', '--org', 'retailer', '--assume', 'breachRate=lots']);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(/expected --assume ID=NUMBER with ID one of/);
    const b = await cli.run(['org', 'risk', '--org', 'retailer', '--assume', 'breachRate=50']);
    expect(b.stderr).toMatch(/expected assumption 'breachRate' as a number from 0 to 10/);
    const c = await cli.run(['org', 'risk', '--org', 'retailer', '--out', join(cli.tmp.dir, 'r.docx')]);
    expect(c.stderr).toMatch(/expected --out as a file name ending in \.html or \.pdf/);
  });

  it('writes an HTML report with the figures and accessible pictures', async () => {
    const file = join(cli.tmp.dir, 'report.html');
    const r = await cli.run(['org', 'risk', '--org', 'retailer', '--out', file]);
    expect(r.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/<svg role="img" aria-labelledby="lec-t lec-d"/);
    expect(html).toContain('<title id="c-t">Expected annual loss by cause</title>');
    expect(html).toMatch(/Computed at ledger height \d+, header hash [0-9a-f]{64}/);
    expect(html).toContain('IBM Cost of a Data Breach Report 2025');
    expect(html).not.toMatch(/did:key:/);
  });

  it('custos org dpia lists the risks the model reads, open breaches and overdue copies among them, each with its source', async () => {
    const r = await cli.run(['org', 'dpia', '--org', 'retailer']);
    expect(r.code, r.stderr).toBe(0);
    const height = /DPIA DRAFT of retailer at height (\d+)/.exec(r.stdout)![1]!;
    expect(r.stdout).toMatch(
      /Personal data breaches still open in the incident register \(Arts\. 33-34\), \d+ customers they may affect: \d+/,
    );
    expect(r.stdout).toContain(`from state rows incident/retailer/* at height ${height}: breaches not closed`);
    expect(r.stdout).toMatch(
      /kept past the due date of their source's erasure, correction or restriction \(Arts\. 17\(2\), 19\): \d+/,
    );
    expect(r.stdout).toContain(
      `from state rows record/retailer/* at height ${height}: copies held with an obligation from their source pending past its due date`,
    );
    const doc = JSON.parse((await cli.run(['org', 'dpia', '--org', 'retailer', '--json'])).stdout) as {
      risks: { id: string; source: string }[];
    };
    expect(doc.risks.map((x) => x.id)).toEqual(expect.arrayContaining(['open-breaches', 'overdue-copies']));
    expect(r.stdout).not.toMatch(/did:key:/);
  });

  describe.skipIf(!gate(hasPdftoppm, import.meta.url, 'poppler-utils'))('PDF', () => {
    it('renders to pages with the loss exceedance curve and the cause bars drawn', async () => {
      const file = join(cli.tmp.dir, 'report.pdf');
      const r = await cli.run(['org', 'risk', '--org', 'retailer', '--out', file]);
      expect(r.code).toBe(0);
      expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
      const dir = join(cli.tmp.dir, 'png');
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('pdftoppm', ['-r', '40', file, join(dir, 'page')]);
      const pages = readdirSync(dir)
        .filter((f) => f.endsWith('.ppm'))
        .sort();
      expect(pages.length).toBeGreaterThanOrEqual(2);
      const first = ppm(join(dir, pages[0]!));
      let blue = 0;
      let red = 0;
      let ink = 0;
      for (let i = 0; i < first.w * first.h; i++) {
        const [R, G, B] = [first.px[3 * i]!, first.px[3 * i + 1]!, first.px[3 * i + 2]!];
        if (B > 150 && R < 100 && G < 140) blue++;
        if (R > 140 && G < 80 && B < 80) red++;
        if (R + G + B < 600) ink++;
      }
      expect(blue, 'curve pixels').toBeGreaterThan(20);
      expect(red, 'bar pixels').toBeGreaterThan(20);
      expect(ink / (first.w * first.h), 'page 1 not blank').toBeGreaterThan(0.02);
      for (const p of pages.slice(1)) {
        const { w, h, px } = ppm(join(dir, p));
        let dark = 0;
        for (let i = 0; i < w * h; i++) if (px[3 * i]! + px[3 * i + 1]! + px[3 * i + 2]! < 600) dark++;
        expect(dark, `${p} has text`).toBeGreaterThan(100);
      }
      expect(existsSync(file)).toBe(true);
    });
  });
});
