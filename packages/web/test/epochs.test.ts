/**
 * Member-set epochs in a real browser (issue 11, finding 3): the explorer pins the genesis members
 * on a first visit; then a member is admitted, a key rotated and a member removed. On the next
 * visit the browser follows the certified member-set updates (verifying each itself), a proof
 * certified by the current members is proven, and one certified with the removed and rotated-out
 * keys is not, even with the updates left out of it.
 */
import type { CustosNode } from '@custos/node';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { proveMemberKey, type QuorumCertificate, signCheckpoint } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, tx, userSigner } from '@custos/test-utils/node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './browser.js';

const did = (s: Signer) => didFromPublicKey(s.publicKey);

describe.skipIf(!needsChromium(import.meta.url))('member-set epochs in the browser', { timeout: 90_000 }, () => {
  const erin = userSigner();
  const bankNew = userSigner();
  const user = userSigner();
  let api: ApiNode;
  let fx: ApiNode['fx'];
  let node: CustosNode;
  let base = '';
  let browser: Browser;
  let page: Page;

  const send = (signer: Signer, type: string, args: { [k: string]: JsonValue }) =>
    node.submitAndWait(tx(signer, type, args, { chainId: 'example' }));

  async function pass(action: { [k: string]: JsonValue }, proposer: Signer, voters: Signer[]): Promise<void> {
    const p = await send(proposer, 'gov.propose', { action, reason: 'the consortium agreed to' });
    expect(p.code).toBe('OK');
    for (const v of voters) expect((await send(v, 'gov.vote', { proposal: p.txId, vote: 'yes' })).code).toBe('OK');
  }

  beforeAll(async () => {
    // A node without org vaults: the explorer reads only the chain.
    api = await startApiNode({
      members: ['bank', 'insurer', 'retailer', 'clinic'],
      orgIds: [],
      extraSigners: [erin, bankNew],
      chainId: 'example',
      server: { rateLimit: false },
      listen: true,
    });
    ({ fx, node } = api);
    base = api.url!;
    await send(user, 'kv.put', { ns: 'web', key: 'first', value: 1 });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('trust #3: after admit, rotate and remove, the browser verifies with the current set and refuses the removed key', async () => {
    // First visit: the genesis members are pinned.
    await page.goto(`${base}/explorer`);
    await page.getByRole('heading', { name: 'Latest checkpoint' }).waitFor();
    const pinnedBefore = await page.evaluate(() => JSON.parse(localStorage.getItem('custos.trust.v1') ?? '{}'));
    expect(pinnedBefore.members.map((m: { id: string }) => m.id)).toEqual(['bank', 'insurer', 'retailer', 'clinic']);

    const { bank, insurer, retailer, clinic } = fx.orgs as Record<string, Signer>;
    await pass(
      {
        kind: 'admit',
        id: 'erin',
        name: 'Erin org',
        keys: [did(erin)],
        proofs: [proveMemberKey(erin, { chainId: 'example', member: 'erin', action: 'admit' }).proof],
        endpoint: 'https://peer.erin.example',
      },
      bank!,
      [insurer!, retailer!],
    );
    await pass(
      {
        kind: 'rotateKey',
        member: 'bank',
        oldKey: did(bank!),
        newKey: did(bankNew),
        proof: proveMemberKey(bankNew, { chainId: 'example', member: 'bank', action: 'rotateKey' }).proof,
      },
      insurer!,
      [clinic!, erin],
    );
    await pass({ kind: 'remove', id: 'retailer' }, bankNew, [insurer!, erin]);
    const r = await send(user, 'kv.put', { ns: 'web', key: 'after', value: 2 });

    // Next visit: the browser follows the updates, pins epoch 3, and the proof of a new transaction is proven.
    await page.goto(`${base}/explorer/verify?tx=${r.txId}`);
    await page.getByText('Proven', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByText(/is entry \d+ of the ledger’s history.*3 of 4 needed/).waitFor();
    const pinned = await page.evaluate(() => JSON.parse(localStorage.getItem('custos.trust.v1') ?? '{}'));
    expect(pinned.epochs.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1, 2, 3]);
    expect(pinned.epochs.epochs[3].members.members.map((m: { id: string }) => m.id)).toEqual([
      'bank',
      'clinic',
      'erin',
      'insurer',
    ]);

    // The same proof, re-certified by the removed member's key and the rotated-out key (a genesis quorum).
    const box = page.getByLabel('Proof', { exact: true });
    const bundle = JSON.parse(await box.inputValue()) as {
      certificate: QuorumCertificate;
      memberSetUpdates: unknown[];
    };
    const cp = bundle.certificate.checkpoint;
    const forged = {
      ...bundle,
      certificate: { checkpoint: cp, signatures: [bank!, retailer!, insurer!].map((s) => signCheckpoint(cp, s)) },
    };
    await box.fill(JSON.stringify(forged));
    await page.getByRole('button', { name: 'Check it' }).click();
    await page.getByText('Not proven').waitFor();
    await page.getByText(/not a member key/).waitFor();
    // Leaving the updates out does not help: this browser holds the epochs.
    await box.fill(JSON.stringify({ ...forged, memberSetUpdates: [] }));
    await page.getByRole('button', { name: 'Check it' }).click();
    await page.getByText('Not proven').waitFor();
    await page.getByText(/not a member key/).waitFor();
    // The explorer's checkpoint is checked against the current set too.
    await page.goto(`${base}/explorer`);
    await page
      .getByText(/Signed by .*3 of 4 needed/)
      .first()
      .waitFor({ state: 'attached', timeout: 15_000 });
  });
});
