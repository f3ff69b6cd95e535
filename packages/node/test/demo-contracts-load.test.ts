/**
 * The demo load with its contracts (what `custos demo` runs), in-process: both contracts went
 * through proposal with the risk check recorded and a member's vote to active; the agreement booked
 * exactly the fees of its successful uses; the use after the customer withdrew consent is on the
 * ledger with its code and booked nothing; the member who withdrew is gone from the loyalty state,
 * which holds commitments only. Integration tier: three scrypt wallet exports and ~60 blocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReportPages } from '../src/cli/customer/history.js';
import { DEMO_CONTRACT_IDS, loyaltyMember } from '../src/demo/contracts.js';
import { type DemoSummary, loadDemoCustomers } from '../src/demo/customers.js';
import { initHome, loadHome } from '../src/home.js';
import type { CallReceipt, ContractRecord, StoredCode } from '../src/modules/contract-state.js';
import { CustosNode } from '../src/node.js';
import { OrgService } from '../src/orgs/org-service.js';
import { subjectReport } from '../src/subject/report.js';
import { openVaults } from '../src/vault/home-vaults.js';
import type { Vault } from '../src/vault/vault.js';

const orgIds = ['bank', 'insurer', 'retailer'];
const passphrase = 'demo passphrase';
let dir: string;
let node: CustosNode;
let vaults: Map<string, Vault>;
let summary: DemoSummary;
let genesis: ReturnType<typeof loadHome>['genesis'];

const state = <T>(key: string): T | undefined => {
  const v = node.store.getState(key);
  return v === undefined ? undefined : (JSON.parse(v) as T);
};
const list = (prefix: string) => node.store.listState(prefix, undefined, 1000);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-demo-contracts-'));
  const home = join(dir, 'home');
  initHome({ home, chainId: 'demo', orgs: orgIds.map((id) => ({ id, name: id })), passphrase });
  const loaded = loadHome(home, passphrase);
  genesis = loaded.genesis;
  node = await CustosNode.open({
    dbPath: loaded.dbPath,
    genesis: loaded.genesis,
    signers: loaded.signers,
    verifyThreads: 1,
  });
  vaults = openVaults(home, orgIds, passphrase);
  const orgs = new OrgService(
    node,
    orgIds.map((id) => ({ id, signer: loaded.orgSigners.get(id)!, vault: vaults.get(id)! })),
  );
  summary = await loadDemoCustomers(
    { node, orgs, home, passphrase, vaultOf: (o) => vaults.get(o)! },
    { contracts: true },
  );
});

afterAll(async () => {
  await node?.close();
  for (const v of vaults?.values() ?? []) v.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('demo contracts on the demo chain', () => {
  it('both went through the lifecycle to active, with a passed risk report recorded', () => {
    // The customers' own counts are those of the load without contracts.
    expect(summary).toMatchObject({ records: 14, shares: 1, requests: 3, refused: 2 });
    for (const id of DEMO_CONTRACT_IDS) {
      const info = state<ContractRecord>(`contract-info/${id}`)!;
      expect(info).toMatchObject({ status: 'active', pending: null });
      const code = state<StoredCode>(`contract-code/${info.digest}`)!;
      expect(code.risk).toMatchObject({ passed: true, findings: [] });
    }
    expect(summary.contracts!.contracts.map((c) => [c.id, c.status, c.riskPassed])).toEqual([
      ['income-check', 'active', true],
      ['alliance-loyalty', 'active', true],
    ]);
  });

  it('the agreement booked exactly the fees of its successful uses, and refused the use after withdrawal', () => {
    const receipts = list('contract-receipt/')
      .map((e) => JSON.parse(e.value) as CallReceipt)
      .filter((r) => r.contract === 'income-check');
    const ok = receipts.filter((r) => r.code === 'OK');
    expect(receipts.map((r) => r.code).sort()).toEqual(['NO_LAWFUL_BASIS', 'OK']);
    expect(ok).toHaveLength(1);
    const fees = state<{ uses: number; cents: number }>('contract/income-check/fees/total')!;
    expect(fees).toMatchObject({ uses: ok.length, cents: 250 * ok.length, payer: 'insurer', payee: 'bank' });
    expect(list('contract/income-check/uses/').map((e) => e.key)).toEqual(['contract/income-check/uses/Q-2026-0001']);
    const refused = summary.contracts!.agreement.refused;
    expect(refused.code).toBe('NO_LAWFUL_BASIS');
    expect(state<CallReceipt>(`contract-receipt/${refused.txId}`)).toMatchObject({
      contract: 'income-check',
      method: 'use',
      code: 'NO_LAWFUL_BASIS',
    });
    expect(summary.contracts!.agreement).toMatchObject({ uses: 1, feeCents: 250 });
  });

  it("the contract's uses are in the customer's history, which still verifies", () => {
    const ada = summary.customers.find((c) => c.id === 'ada')!;
    const did = ada.relationships.find((r) => r.org === 'bank')!.did;
    const v = verifyReportPages([subjectReport(node, did, { limit: 1000 })], genesis, did);
    const calls = v.events.filter((e) => e.tx.body.type === 'contract.call').map((e) => e.entry.code);
    expect(calls).toEqual(['OK', 'NO_LAWFUL_BASIS']);
  });

  it('the member who withdrew consent is dropped from the loyalty state; the other keeps earning', () => {
    const leaver = loyaltyMember('DEMO-CARD-0001');
    const stayer = loyaltyMember('DEMO-CARD-0002');
    expect(state(`contract/alliance-loyalty/points/${leaver}`)).toBeUndefined();
    expect(state(`contract/alliance-loyalty/left/${leaver}`)).toMatchObject({ reason: 'consent-withdrawn' });
    // 89 + 500 (account opened) + 120 points.
    expect(state(`contract/alliance-loyalty/points/${stayer}`)).toMatchObject({ points: 709 });
    const after = list('contract-receipt/')
      .map((e) => JSON.parse(e.value) as CallReceipt)
      .filter((r) => r.contract === 'alliance-loyalty' && r.code !== 'OK');
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ method: 'accountEvent', code: 'CONTRACT_ERROR' });
    expect(summary.contracts!.loyalty).toEqual({ members: 1, dropped: 1 });
    // Only commitments and numbers: no name, email or other customer detail in the contract state.
    for (const { key, value } of list('contract/')) {
      expect(`${key} ${value}`).not.toMatch(/example\.org|Ada|Grace|Alan|@/);
    }
  });
});
