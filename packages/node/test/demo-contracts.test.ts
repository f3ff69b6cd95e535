/**
 * The demo contracts `custos demo` deploys (src/demo/contracts/): each passes the risk check as
 * shipped, with its declared test calls all ending OK in the dry run, and keeps only pseudonyms or
 * commitments in its state. The deployment itself is demo-contracts-load.test.ts (integration).
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContractRuntime, parseManifest, type RiskTestCall, riskCheck } from '../src/contracts/index.js';
import { DEMO_CONTRACT_IDS, demoContractSource, loyaltyMember } from '../src/demo/contracts.js';

let runtime: ContractRuntime;
beforeAll(async () => {
  runtime = await ContractRuntime.create();
});

describe('demo contracts', () => {
  it.each(DEMO_CONTRACT_IDS)('%s passes the risk check with every declared test call OK', (id) => {
    const src = demoContractSource(id);
    const manifest = parseManifest(src.manifest);
    expect(manifest.name).toBe(id);
    const report = riskCheck({ code: src.code, manifest, tests: src.tests as unknown as RiskTestCall[] }, runtime);
    expect(report.findings).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.dryRun.length).toBe(src.tests.length);
    expect(report.dryRun.length).toBeGreaterThan(1);
    for (const call of report.dryRun) expect(call.code).toBe('OK');
  });

  it('ships the sources where the build in dist/ reads them', () => {
    for (const id of DEMO_CONTRACT_IDS) {
      for (const suffix of ['.js', '.manifest.json', '.tests.json']) {
        // dist/demo/contracts.js resolves ../../src/demo/contracts/: the same directory as from src/demo/.
        expect(existsSync(new URL(`../src/demo/contracts/${id}${suffix}`, import.meta.url))).toBe(true);
      }
    }
  });

  it('keeps loyalty members as commitments', () => {
    const m = loyaltyMember('DEMO-CARD-0001');
    expect(m).toMatch(/^[0-9a-f]{64}$/);
    expect(m).not.toBe(loyaltyMember('DEMO-CARD-0002'));
  });
});
