/**
 * The demo's atomic cross-chain transaction (issue 15): Ada agrees to share her purchase history
 * with the bank for the retailer's loyalty points. On a demo home served over HTTP with a real
 * Hardhat chain: when the token transfer fails (the retailer did not approve it), neither her
 * consent nor the share is on Custos and no point moves; when it succeeds, the consent, the share
 * and the points are all there, and `xtx status` through the API shows both legs with the EVM
 * transaction, its block and confirmations. Integration tier: a listening server and Hardhat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Peer, startPeer } from '../src/cli/peer.js';
import { loadDemoCustomers } from '../src/demo/customers.js';
import { DEMO_EVM_MINT, type DemoEvm, startDemoEvm } from '../src/demo/evm-chain.js';
import {
  joinDemoLoyalty,
  type LoyaltySwapInput,
  type LoyaltySwapResult,
  loyaltySwap,
} from '../src/demo/loyalty-swap.js';
import { initHome } from '../src/home.js';
import { httpEndpoint } from '../src/interop/endpoint.js';
import { xtxStatus } from '../src/interop/xtx-status.js';
import { consentKey } from '../src/modules/consent.js';
import { shareKey } from '../src/modules/data.js';
import { tokenStoreOf } from '../src/orgs/tokens.js';

const passphrase = 'demo loyalty passphrase';
let dir: string;
let peer: Peer;
let evm: DemoEvm;
let input: LoyaltySwapInput;
let committed: LoyaltySwapResult;

const state = <T>(key: string): T | undefined => {
  const v = peer.node.store.getState(key);
  return v === undefined ? undefined : (JSON.parse(v) as T);
};
/** Her grants to the retailer that cover her purchase history. */
const purchaseGrants = () =>
  (
    state<{ grants: { categories: string[]; share: boolean }[] }>(consentKey('retailer', input.customer.did))?.grants ??
    []
  ).filter((g) => g.categories.includes('pd:Purchase'));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-demo-loyalty-'));
  const home = join(dir, 'home');
  initHome({
    home,
    chainId: 'demo',
    orgs: ['bank', 'insurer', 'retailer'].map((id) => ({ id, name: id })),
    passphrase,
  });
  peer = await startPeer({ home, passphrase, host: '127.0.0.1', port: 0, logger: false, operatorLog: false });
  await loadDemoCustomers({ node: peer.node, orgs: peer.orgs, home, passphrase });
  evm = await startDemoEvm({ node: peer.node, home, passphrase, orgSigners: peer.orgSigners });
  input = await joinDemoLoyalty({ node: peer.node, orgs: peer.orgs, home, passphrase }, evm);
}, 180_000);

afterAll(async () => {
  await evm?.stop();
  await peer?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the demo's loyalty swap: consent and share on Custos, points on the EVM chain", () => {
  it('aborts on both sides when the token transfer fails: no consent, no share, no points', async () => {
    const a = await loyaltySwap(peer.node, peer.orgSigners.get('retailer')!, evm, { ...input, approve: false });
    expect(a).toMatchObject({ decision: 'ABORT', reason: `no:${evm.participant}`, evm: 'aborted' });
    expect(purchaseGrants()).toEqual([]);
    expect(state(shareKey('retailer', input.record, 'bank'))).toBeUndefined();
    expect(await evm.balanceOf(input.to)).toBe(0n);
    expect(await evm.balanceOf(evm.retailer)).toBe(DEMO_EVM_MINT);
  }, 120_000);

  it('commits on both sides: her consent, the share with the bank and 100 points', async () => {
    committed = await loyaltySwap(peer.node, peer.orgSigners.get('retailer')!, evm, input);
    expect(committed).toMatchObject({ decision: 'COMMIT', reason: 'all-yes', evm: 'committed' });
    expect(purchaseGrants()).toMatchObject([{ share: true }]);
    expect(state(shareKey('retailer', input.record, 'bank'))).toMatchObject({
      recipient: 'bank',
      purpose: 'dpv:Marketing',
      sale: false,
    });
    expect(await evm.balanceOf(input.to)).toBe(100n);
    expect(await evm.balanceOf(evm.retailer)).toBe(DEMO_EVM_MINT - 100n);
  }, 120_000);

  it('xtx status through the HTTP API shows both legs: Custos committed, the EVM transaction, its block', async () => {
    const token = tokenStoreOf(peer.node).create('retailer', {
      scopes: ['read'],
      ttlDays: 1,
      label: 'test',
      createdBy: 'test',
    }).token;
    const s = await xtxStatus([httpEndpoint(peer.url, { token })], committed.xtxId, {
      evm: [{ rpcUrl: evm.chain.rpcUrl }],
    });
    expect(s.stage).toBe('committed');
    expect(s.chains[0]).toMatchObject({ chainId: 'demo', reachable: true, record: { status: 'committed' } });
    expect(s.evm[0]).toMatchObject({
      participant: evm.participant,
      vote: 'YES',
      lock: 'committed',
      outcome: 'committed',
    });
    expect(s.evm[0]?.prepareTx).toBe(committed.prepareTx);
    expect(s.evm[0]?.block).toBeGreaterThan(0);
    expect(s.evm[0]?.confirmations).toBeGreaterThanOrEqual(1);
  });
});
